"""Every error answer: the problem+json shape (RFC 9457), the exception handlers, `install(app)`.

One error family (core.errors.BackpropError) rendered by one handler; FastAPI's validation and
HTTP errors and unexpected exceptions rendered in the same shape; ASGI layers that answer before
the app (auth, body, query) use `send_problem`. Validation errors are flattened by one function,
`field_errors`, bounded: at most MAX_LISTED entries (the detail counts the rest) and no location
part or message longer than MAX_ECHO characters, so a bad body cannot buy a large answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import Send

from service.api.middleware.context import request_id
from service.api.schemas.problem import PROBLEM
from service.core.errors import BackpropError

log = logging.getLogger("service")

MAX_LISTED = 20  # validation errors listed in one answer; the detail counts the rest
MAX_ECHO = 64  # characters of any location part or message taken from the request
IN_DETAIL = 5  # errors the detail line spells out


def _clip(text: str, limit: int = MAX_ECHO) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_errors(raw: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, str]], str]:
    """pydantic-style errors as (at most MAX_LISTED {loc, msg, type}, a one-line detail)."""
    listed: list[dict[str, str]] = []
    total = 0
    for error in raw:
        total += 1
        if len(listed) < MAX_LISTED:
            loc = error.get("loc", "")
            parts = loc.split(".") if isinstance(loc, str) else [str(part) for part in loc]
            listed.append(
                {
                    "loc": ".".join(_clip(part) for part in parts),
                    "msg": _clip(str(error.get("msg", "")), 4 * MAX_ECHO),
                    "type": _clip(str(error.get("type", ""))),
                }
            )
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in listed[:IN_DETAIL])
    if total > IN_DETAIL:
        detail += f"; and {total - IN_DETAIL} more"
    return listed, detail


def problem_body(
    status: int, title: str, detail: str, slug: str, errors: Any = None
) -> dict[str, Any]:
    """The JSON object of a problem."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{**error, "loc": dotted(error.get("loc", ""))} for error in errors]
    return body


def dotted(loc: Any) -> str:
    """One spelling of a location: 'body.configs.0.alpha', whatever the raiser passed."""
    return loc if isinstance(loc, str) else ".".join(str(part) for part in loc)


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = problem_body(status, title, detail, slug, errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    slug: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> None:
    """Answer with a problem straight from ASGI middleware (outside the exception handlers)."""
    body = orjson.dumps(problem_body(status, title, detail, slug, errors))
    raw = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def on_backprop_error(request: Request, exc: Exception) -> JSONResponse:
    """Every error the core raises."""
    assert isinstance(exc, BackpropError)
    return problem(
        exc.status, exc.title, exc.detail, exc.slug, errors=exc.errors, headers=exc.headers
    )


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic's validation errors, listed per field (bounded), never echoing the input."""
    assert isinstance(exc, RequestValidationError)
    errors, detail = field_errors(exc.errors())
    return problem(422, "Invalid request", detail, "validation", errors=errors)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """404, 405 and other HTTP errors raised by the framework."""
    assert isinstance(exc, HTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = str(exc.detail)
    headers = exc.headers
    from service.api.openapi import allowed  # the document's methods (openapi imports auth)

    if exc.status_code == 405 and (allow := allowed(request.app, request.url.path)):
        headers = {**(headers or {}), "Allow": allow}  # every method of the path, not one route's
    return problem(exc.status_code, title, detail, f"http-{exc.status_code}", headers=headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: a bug, reported without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    rid = request_id(request.scope)  # this response bypasses the layer's send: add the id here
    headers = {"X-Request-ID": rid} if rid else None
    detail = "An unexpected error occurred."
    return problem(500, "Internal error", detail, "internal", headers=headers)


def install(app: FastAPI) -> None:
    """Render every exception as a problem."""
    app.add_exception_handler(BackpropError, on_backprop_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
