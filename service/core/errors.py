"""The one error family of the service; the web layer maps each to application/problem+json.

Tested by api_tests/test_hostile.py and api_tests/test_limits.py.
"""

from __future__ import annotations

from typing import Any


class BackpropError(Exception):
    """Base of every error the service reports to a client."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class MalformedJson(BackpropError):
    """The body is not one JSON document: syntax, encoding, nesting or a key twice."""

    status = 400
    title = "Malformed JSON"
    slug = "malformed-json"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The body is not valid JSON: {reason}.")
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:  # crosses the offload child's process boundary
        return (type(self), (self.reason,))


class InvalidInput(BackpropError):
    """The request is well-formed JSON but its values cannot be used."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NumericalOverflow(InvalidInput):
    """A node of the graph produced a non-finite value for the given input."""

    title = "Numerical overflow"
    slug = "numerical-overflow"

    def __init__(self, node: str, detail: str | None = None) -> None:
        super().__init__(
            detail
            or f"The node '{node}' overflowed (its value is not a finite float64) for this input; "
            "use smaller weights or features."
        )
        self.node = node


class LimitExceeded(InvalidInput):
    """The request asks for more work than the configured limits allow."""

    title = "Limit exceeded"
    slug = "limit-exceeded"


class Overloaded(BackpropError):
    """The service is at capacity; the client should retry later."""

    status = 503
    title = "Service overloaded"
    slug = "overloaded"


class ClientGone(BackpropError):
    """The client disconnected before the answer: its work was stopped (nobody reads this)."""

    status = 499  # nginx's "client closed request"
    title = "Client closed request"
    slug = "client-closed-request"


class InvalidGraph(InvalidInput):
    """A graph definition that cannot be parsed or validated: which node, where, what was wanted."""

    title = "Invalid graph"
    slug = "invalid-graph"

    def __init__(
        self,
        detail: str,
        *,
        node: str | None = None,
        position: int | None = None,
        expected: str | None = None,
        limit: str | None = None,
        loc: tuple[str | int, ...] = (),
    ) -> None:
        where = f"node '{node}'" if node is not None else "the definition"
        at = f", position {position}" if position is not None else ""
        wanted = f"; expected {expected}" if expected is not None else ""
        super().__init__(
            f"{where}{at}: {detail}{wanted}",
            errors=[
                {
                    "loc": "",
                    "msg": f"{where}{at}: {detail}{wanted}",
                    "type": "limit_exceeded" if limit is not None else "invalid_graph",
                    "node": node,
                    "position": position,
                    "expected": expected,
                    "limit": limit,
                }
            ],
        )
        self.node, self.position, self.expected, self.limit = node, position, expected, limit
        # where in the definition (a key, an index), when it is not a node's expression
        self.loc = loc or (() if node is None else ("loss",) if node == "loss" else ("nodes", node))


class GraphLimitExceeded(InvalidGraph, LimitExceeded):
    """A graph definition larger than a configured limit (BACKPROP_MAX_GRAPH_*), naming it."""

    title = "Limit exceeded"
    slug = "limit-exceeded"


class RequestTimeout(BackpropError):
    """The client did not send the whole request within the configured time."""

    status = 408
    title = "Request timeout"
    slug = "request-timeout"


class HeadersTooLarge(BackpropError):
    """The request line and headers over MAX_HEADER_BYTES (service/settings.py)."""

    status = 431
    title = "Request header fields too large"
    slug = "headers-too-large"
