"""Every response carries X-Request-ID; every request leaves one JSON access line.

Headers over MAX_HEADER_BYTES that the server let through (see service/cli.py) get a 431,
before any other check reads them. The request layer (service.api.middleware.layer) calls
`incoming`, `headers_too_large`, `with_id` and `log_access`.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any

from starlette.types import Message, Scope, Send

from service.core.errors import HeadersTooLarge
from service.logs import REQUEST_ID, JsonLines, sole_handler
from service.settings import MAX_HEADER_BYTES

log = logging.getLogger("service.access")
_NAME = log.name

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
_INFO = logging.INFO
# Fresh ids: 64 random bits per process, then a counter (unique, and no syscall per request).
_PREFIX = [os.urandom(8).hex()]
_COUNTER = itertools.count()


def _reseed() -> None:
    _PREFIX[0] = os.urandom(8).hex()


os.register_at_fork(after_in_child=_reseed)


def request_id(scope: Scope) -> str | None:
    """The id given to a request by the request layer, if it passed through it."""
    state: dict[str, Any] = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def incoming(scope: Scope) -> str:
    """The client's X-Request-ID when it is short and plain, else a fresh one (32 hex digits).

    The id is also set on the scope's state and in the log context (service.logs.REQUEST_ID).
    """
    rid: str | None = None
    for name, value in scope["headers"]:
        if name == HEADER and _SANE.fullmatch(value):
            rid = value.decode("ascii")
            break
    if rid is None:
        rid = f"{_PREFIX[0]}{next(_COUNTER):016x}"
    REQUEST_ID.set(rid)
    scope.setdefault("state", {})["request_id"] = rid
    return rid


def headers_too_large(scope: Scope) -> bool:
    """Whether the request's headers are over MAX_HEADER_BYTES (as the server counts them)."""
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"]) > MAX_HEADER_BYTES


async def send_headers_too_large(send: Send) -> None:
    """The 431 problem."""
    from service.api.errors import send_problem  # errors imports this module

    await send_problem(
        send,
        HeadersTooLarge.status,
        HeadersTooLarge.title,
        f"The request's headers are over {MAX_HEADER_BYTES // 1024} KiB.",
        HeadersTooLarge.slug,
        headers={"Connection": "close"},
    )


def with_id(message: Message, header: tuple[bytes, bytes]) -> Message:
    """A response start message carrying `header` as its only X-Request-ID."""
    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
    headers.append(header)
    return {**message, "headers": headers}


def log_access(rid: str, scope: Scope, status: int, seconds: float) -> None:
    """The access line: request id, method, path (no query string), status, duration.

    With the service's own logging (service.logs.configure, and nothing else listening), the
    line is formatted and handed to the batch directly: the same line as through logging,
    without its LogRecord and calls (~5 µs a request). Any other configuration (a capture,
    another handler, a filter) gets the record, as `log.info("request", extra=...)` makes it.
    """
    if log.isEnabledFor(_INFO):
        fields = {
            "request_id": rid,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        handler = sole_handler(log, _INFO)
        if handler is not None:
            formatter: JsonLines = handler.formatter  # type: ignore[assignment]
            level = logging.getLevelName(_INFO)
            line = formatter.line(time.time(), level, _NAME, "request", fields)
            handler.add_line(line, _INFO)
        else:
            log.handle(_record(fields))  # what log.info("request", extra=...) does, cheaper


_template: dict[str, Any] = {}


def _record(fields: dict[str, Any]) -> logging.LogRecord:
    """The access line's record: a copy of one made by the logger once, with the time and the
    fields set (LogRecord.__init__ recomputes ~20 attributes that never change here)."""
    if not _template:
        _template.update(
            log.makeRecord(log.name, _INFO, "(unknown file)", 0, "request", (), None).__dict__
        )
    record = logging.LogRecord.__new__(logging.LogRecord)
    attributes = record.__dict__
    attributes.update(_template)
    now = time.time()
    attributes["created"] = now
    attributes["msecs"] = (now - int(now)) * 1000
    attributes["relativeCreated"] = (now - logging._startTime) * 1000  # type: ignore[attr-defined]
    attributes["fields"] = fields
    return record
