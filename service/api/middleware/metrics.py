"""HTTP metrics: requests and latency per route template, method and status (pure ASGI).

`instrument` adds prometheus-fastapi-instrumentator's middleware, with a cheaper route lookup.
Metrics live in the process: with several worker processes, scrape each one (or set
PROMETHEUS_MULTIPROC_DIR).

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from prometheus_fastapi_instrumentator import metrics as http
from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware
from starlette.requests import Request

# Made once per process: the instrumentator registers each metric name only once.
HTTP_METRICS = [
    http.requests(),
    http.latency(
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
    ),
]


class _Instrumentation(PrometheusInstrumentatorMiddleware):
    """The instrumentator's middleware, naming a path without parameters without matching.

    Its own lookup walks every route of the app (with FastAPI's included routers, most of the
    middleware's cost); a path that is itself a route template needs no walk.
    """

    def _get_handler(self, request: Request) -> tuple[str, bool]:
        path: str = request.scope["path"]
        if path in _templates(request.scope["app"]):
            return path, True
        return super()._get_handler(request)


def _templates(app: Any) -> frozenset[str]:
    """The app's route paths without parameters (computed once per app).

    Read from the routes, included routers' too, not from app.openapi(): building the document
    would cost the first request (usually a readiness probe) a third of a second.
    """
    found: frozenset[str] | None = getattr(app.state, "route_templates", None)
    if found is None:
        paths = (context.path for context in iter_route_contexts(app.routes))
        found = frozenset(path for path in paths if path and "{" not in path)
        app.state.route_templates = found
    return found


def instrument(app: FastAPI) -> None:
    """Count requests and time them per route template, method and exact status."""
    app.add_middleware(
        _Instrumentation,
        should_group_status_codes=False,
        excluded_handlers=["/metrics"],
        instrumentations=[metric for metric in HTTP_METRICS if metric is not None],
    )
