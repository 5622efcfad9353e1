"""Request bodies: at most BACKPROP_MAX_BODY_BYTES, and JSON only.

`BodyGuard` is pure ASGI middleware. A declared Content-Length over the limit is refused at
once; a streamed body is counted as it arrives and refused the moment it passes the limit, so
neither is read to the end. A body within the limit must say it is JSON (415 otherwise); it
then reaches the app unchanged, and is parsed once there by the route, by the JSON rules of
route_classes/json_text.py (400 malformed-json for what they refuse).

Tested by api_tests/test_hostile.py.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import send_problem
from service.api.route_classes.json_body import is_json
from service.settings import settings_of


class _Disconnected(Exception):
    """The client went away while sending the body."""


def _is_json(content_type: bytes) -> bool:
    """routing.is_json of a raw header value."""
    return is_json(content_type.decode("latin-1"))


class BodyGuard:
    """Refuse bodies that are too large (413) or not JSON (415)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings_of(scope["app"]).max_body_bytes
        length: int | None = None
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"content-type":
                content_type = value
        if length == 0:
            return await self.app(scope, receive, send)
        if length == -1:
            return await send_problem(
                send, 400, "Bad request", "Content-Length is not a number.", "bad-request"
            )
        if length is not None and length > limit:
            return await _too_large(send, limit)
        if length is not None and not _is_json(content_type):
            return await _not_json(send)
        try:
            body = await _read(receive, limit)
        except _Disconnected:
            return  # nobody is left to answer
        if body is None:
            return await _too_large(send, limit)
        if body and not _is_json(content_type):
            return await _not_json(send)
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes the limit (the rest is never read)."""
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
        more = message.get("more_body", False)
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
