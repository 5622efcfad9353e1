"""Every response carries X-Request-ID; every request leaves one JSON access line (pure ASGI).

Headers over MAX_HEADER_BYTES that the server let through (see service/cli.py) get a 431 here,
before any other layer reads them.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import logging
import re
import secrets
from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.errors import HeadersTooLarge
from service.logs import REQUEST_ID
from service.settings import MAX_HEADER_BYTES, settings_of

log = logging.getLogger("service.access")

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


def request_id(scope: Scope) -> str | None:
    """The id given to a request by RequestContext, if it passed through it."""
    state: dict[str, Any] = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def _incoming(scope: Scope) -> str:
    """The client's X-Request-ID when it is short and plain, else a fresh one."""
    for name, value in scope["headers"]:
        if name == HEADER and _SANE.fullmatch(value):
            return str(value.decode("ascii"))
    return secrets.token_hex(16)


class RequestContext:
    """Assign the request id, add it to the response, log method, path, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = perf_counter()
        rid = _incoming(scope)
        REQUEST_ID.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        header = (HEADER, rid.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            if (
                sum(len(name) + len(value) + 4 for name, value in scope["headers"])
                > MAX_HEADER_BYTES
            ):
                from service.api.errors import send_problem  # errors imports this module

                await send_problem(
                    send_with_id,
                    HeadersTooLarge.status,
                    HeadersTooLarge.title,
                    f"The request's headers are over {MAX_HEADER_BYTES // 1024} KiB.",
                    HeadersTooLarge.slug,
                    headers={"Connection": "close"},
                )
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            if settings_of(scope["app"]).access_log and log.isEnabledFor(logging.INFO):
                fields = {
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((perf_counter() - start) * 1000, 3),
                }
                log.info("request", extra={"fields": fields})
