"""The one error shape: application/problem+json (RFC 9457)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import Field
from starlette.responses import JSONResponse
from starlette.types import Send

from service.api.schemas import Schema

PROBLEM = "application/problem+json"


class FieldError(Schema):
    """One rejected part of a request."""

    loc: str = Field(description="Where: dotted path into the request, e.g. 'body.w.3'.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="pydantic's error type, e.g. 'finite_number'.")


class Problem(Schema):
    """An error, as every endpoint reports one (RFC 9457)."""

    type: str = Field(description="A stable slug for the kind of error, e.g. '/problems/auth'.")
    title: str = Field(description="A short summary of that kind of error.")
    status: int = Field(description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong with this request; never echoes its numbers.")
    errors: list[FieldError] | None = Field(
        None, description="Validation errors only: one entry per rejected field."
    )


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
