"""Request bodies: at most BACKPROP_MAX_BODY_BYTES, and JSON only.

`BodyGuard` is pure ASGI middleware. A declared Content-Length over the limit is refused at
once; a streamed body is counted as it arrives and refused the moment it passes the limit, so
neither is read to the end. A body within the limit must say it is JSON (415 otherwise); it
then reaches the app unchanged, and is parsed once there by the route, by the JSON rules of
route_classes/json_text.py (400 malformed-json for what they refuse).

Tested by api_tests/test_hostile.py.
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import send_problem
from service.api.route_classes.json_body import is_json
from service.settings import settings_of


class _Disconnected(Exception):
    """The client went away while sending the body."""


class Body(NamedTuple):
    """A request's body as BodyGuard let it through: `raw` is None when there was none to read."""

    raw: bytes | None
    content_type: str | None


async def read_body(scope: Scope, receive: Receive, send: Send, limit: int) -> Body | None:
    """The whole body within `limit`, or None when it was refused here (or the client left).

    A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3):
    nothing is read. Reads go through `receive` (the layer passes one bounded in time).
    """
    length: int | None = None
    content_type = b""
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else -1
        elif name == b"content-type":
            content_type = value
        elif name == b"transfer-encoding":
            chunked = True
    media = content_type.decode("latin-1") if content_type else None
    if length == 0 or (length is None and not chunked):
        return Body(None, media)
    if length == -1:
        await send_problem(
            send, 400, "Bad request", "Content-Length is not a number.", "bad-request"
        )
        return None
    if length is not None and length > limit:
        await _too_large(send, limit)
        return None
    json_body = is_json(media)
    if length is not None and not json_body:
        await _not_json(send)
        return None
    try:
        body = await _read(receive, limit, length)
    except _Disconnected:
        return None  # nobody is left to answer
    if body is None:
        await _too_large(send, limit)
        return None
    if body and not json_body:
        await _not_json(send)
        return None
    return Body(body, media)


def replayed(body: Body, receive: Receive) -> Receive:
    """The receive the app gets: the buffered body once, if one was read, then `receive`."""
    return receive if body.raw is None else _replay(body.raw, receive)


class BodyGuard:
    """Refuse bodies that are too large (413) or not JSON (415).

    The app itself wires service.api.middleware.layer, which calls `read_body` and `replayed`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings_of(scope["app"]).max_body_bytes
        body = await read_body(scope, receive, send, limit)
        if body is not None:
            await self.app(scope, replayed(body, receive), send)


async def _read(receive: Receive, limit: int, length: int | None) -> bytes | None:
    """The whole body, or None as soon as it passes the limit (the rest is never read).

    With a Content-Length, reading stops once that many bytes are in: the server has framed
    the body by it, and granian hands over a body's data with `more_body: True` and only then
    an empty last message, each read a round trip to its Rust runtime (~20 µs of server CPU
    per request, bench/middleware.py). The app's later reads, through `replayed`, see that
    last message, then the disconnect.
    """
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False) and size != length
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _too_large(send: Send, limit: int) -> None:
    detail = f"The request body is larger than {limit} bytes (BACKPROP_MAX_BODY_BYTES)."
    await send_problem(
        send, 413, "Request body too large", detail, "body-too-large", {"Connection": "close"}
    )


async def _not_json(send: Send) -> None:
    detail = "Send the body as JSON, with 'Content-Type: application/json'."
    title = "Unsupported media type"
    await send_problem(send, 415, title, detail, "unsupported-media-type", {"Connection": "close"})
