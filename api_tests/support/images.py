"""Decoding the service's images in tests: PNG header and pixels, SVG as XML."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
from matplotlib import image as mpimg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def png_size(content: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the signature."""
    assert content[:8] == PNG_SIGNATURE, "not a PNG signature"
    assert content[12:16] == b"IHDR", "first chunk is not IHDR"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def png_pixels(content: bytes) -> np.ndarray:
    """The decoded image (height, width, channels), via matplotlib (Pillow underneath)."""
    return np.asarray(mpimg.imread(io.BytesIO(content), format="png"))


def svg_root(content: bytes) -> ET.Element:
    """The parsed SVG document's root element."""
    root = ET.fromstring(content)
    assert root.tag == f"{SVG_NS}svg"
    return root


def group(root: ET.Element, gid: str) -> ET.Element:
    """The <g> element with this id (matplotlib writes an artist's gid as its group's id)."""
    found = root.find(f".//{SVG_NS}g[@id='{gid}']")
    assert found is not None, f"no <g id={gid!r}> in the SVG"
    return found


def groups_with_prefix(root: ET.Element, prefix: str) -> list[ET.Element]:
    """Every <g> whose id starts with the prefix, in document order."""
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("id", "").startswith(prefix)]


def texts(element: ET.Element) -> Iterator[str]:
    """The content of every <text> element under an element."""
    for text in element.iter(f"{SVG_NS}text"):
        yield "".join(text.itertext())
