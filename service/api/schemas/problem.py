"""The problem+json (RFC 9457) models every error answer follows.

Tested by api_tests/test_openapi.py.
"""

from __future__ import annotations

from pydantic import Field

from service.api.schemas.base import Schema, omitted_when_null

PROBLEM = "application/problem+json"


class FieldError(Schema):
    """One rejected part of a request."""

    loc: str = Field(description="Where: dotted path into the request, e.g. 'body.w.3'.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="pydantic's error type, e.g. 'finite_number'.")
    node: str | None = omitted_when_null(
        "A graph definition's node the error is in (graph errors only).",
    )
    position: int | None = omitted_when_null(
        "Character position in that node's expression (graph errors only).",
    )
    expected: str | None = omitted_when_null(
        "What was expected there (graph errors only).",
    )
    limit: str | None = omitted_when_null(
        "The BACKPROP_MAX_GRAPH_* limit exceeded, e.g. 'nodes' (graph errors).",
    )


class Problem(Schema):
    """An error, as every endpoint reports one (RFC 9457)."""

    type: str = Field(description="A stable slug for the kind of error, e.g. '/problems/auth'.")
    title: str = Field(description="A short summary of that kind of error.")
    status: int = Field(description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong with this request; never echoes its numbers.")
    errors: list[FieldError] | None = Field(
        None, description="Validation errors only: one entry per rejected field."
    )
