"""A figure to PNG or SVG bytes through matplotlib's Agg and SVG canvases."""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure

from service.render.spec import PNG, SVG

FORMATS = {PNG: "png", SVG: "svg"}

# SVG text stays <text> elements (searchable, selectable) instead of glyph outlines.
matplotlib.rcParams["svg.fonttype"] = "none"


def to_bytes(fig: Figure, media_type: str) -> bytes:
    """Encode a figure as the given image media type, without a timestamp in the file."""
    fmt = FORMATS[media_type]
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
