"""Images over HTTP: PNG or SVG chosen by the Accept header, drawn off the event loop.

Tested by api_tests/test_plots.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from anyio import to_thread
from fastapi import Header
from fastapi.responses import Response

from service.render.spec import PNG, SVG

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _ranges(accept: str) -> Iterator[tuple[str, float]]:
    for item in accept.split(","):
        media, *params = item.split(";")
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        yield media.strip().lower(), q


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """q of the most specific range matching the offer (exact, then type/*, then */*)."""
    wildcards = {offer: 3, offer.split("/")[0] + "/*": 2, "*/*": 1}
    matches = [(wildcards[media], q) for media, q in ranges if media in wildcards]
    return max(matches)[1] if matches else 0.0


def quality(accept: str | None, offer: str) -> float:
    """The q the Accept header gives a media type (1 for */* when there is no header)."""
    return _quality(offer, list(_ranges(accept or "*/*")))


def negotiate(accept: str | None, default: str) -> str:
    """PNG or SVG, whichever the Accept header ranks higher; the default on a tie or no header."""
    ranges = list(_ranges(accept or "*/*"))
    other = SVG if default == PNG else PNG
    return other if _quality(other, ranges) > _quality(default, ranges) else default


def accepting(default: str) -> Callable[[str | None], str]:
    """A dependency answering the image type the Accept header prefers (deps.py names them)."""

    def image_type(accept: Annotated[str | None, Header(include_in_schema=False)] = None) -> str:
        return negotiate(accept, default)

    return image_type


def _encode(media_type: str, draw: Callable[[], Figure]) -> bytes:
    from service.render.figures import to_bytes  # matplotlib loads on the first picture

    return to_bytes(draw(), media_type)


async def image(media_type: str, draw: Callable[[], Figure]) -> Response:
    """Draw and encode in a worker thread; `Vary: Accept` keeps caches from mixing formats."""
    content = await to_thread.run_sync(_encode, media_type, draw)
    return Response(content, media_type=media_type, headers={"Vary": "Accept"})


def image_responses(description: str, default: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the 200 answer is PNG or SVG, the default listed first (Swagger UI's choice)."""
    content = {
        PNG: {"schema": {"type": "string", "format": "binary"}},
        SVG: {"schema": {"type": "string", "description": "An SVG document."}},
    }
    ordered = dict(sorted(content.items(), key=lambda item: item[0] != default))
    return {200: {"description": description, "content": ordered}}
