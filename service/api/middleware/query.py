"""Unknown query parameters are refused (422), as unknown body fields are: `unknown`
and `refuse`, which the request layer calls.

Tested by api_tests/test_hostile.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope, Send

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


def unknown(scope: Scope) -> list[str]:
    """The query parameters the request's operation does not declare, sorted."""
    if not scope["query_string"]:
        return []
    declared = known_parameters(scope["app"]).get((scope["path"], scope["method"]))
    if declared is None:
        return []
    given = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    return sorted({name for name, _ in given} - declared)


async def refuse(send: Send, unknown: list[str]) -> None:
    """The 422 problem naming each unknown parameter."""
    errors, detail = field_errors(
        {"loc": ("query", name), "msg": "Extra inputs are not permitted", "type": EXTRA}
        for name in unknown
    )
    await send_problem(send, 422, "Invalid request", detail, "validation", errors=errors)
