"""Unknown query parameters are refused (422), as unknown body fields are (pure ASGI).

Tested by api_tests/test_hostile.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import field_errors, send_problem

Known = dict[tuple[str, str], frozenset[str]]
EXTRA = "extra_forbidden"


def known_parameters(app: Any) -> Known:
    """(path, METHOD) -> the query parameters its operation declares, from the OpenAPI."""
    cached: Known | None = getattr(app.state, "query_parameters", None)
    if cached is None:
        cached = {
            (path, method.upper()): frozenset(
                p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
            )
            for path, operations in app.openapi()["paths"].items()
            for method, operation in operations.items()
        }
        app.state.query_parameters = cached
    return cached


class QueryGuard:
    """Answer 422 naming any query parameter the operation does not declare."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["query_string"]:
            declared = known_parameters(scope["app"]).get((scope["path"], scope["method"]))
            if declared is not None:
                given = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                unknown = sorted({name for name, _ in given} - declared)
                if unknown:
                    return await _refuse(send, unknown)
        await self.app(scope, receive, send)


async def _refuse(send: Send, unknown: list[str]) -> None:
    errors, detail = field_errors(
        {"loc": ("query", name), "msg": "Extra inputs are not permitted", "type": EXTRA}
        for name in unknown
    )
    await send_problem(send, 422, "Invalid request", detail, "validation", errors=errors)
