"""HTTP metrics: requests and latency per route template, method and status.

`http_requests_total` (counter) and `http_request_duration_seconds` (histogram), both labelled
handler, method, status (the names, labels and buckets prometheus-fastapi-instrumentator gave
them before): handler is the route template (`/graphs/{name}`), or "none" for a path no route
has; /metrics itself is not counted. The request layer (service.api.middleware.layer) calls
`observe` once per request; each label set's children are looked up once and kept.

Metrics live in the process: with several worker processes, scrape each one (or set
PROMETHEUS_MULTIPROC_DIR).

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import Counter, Histogram
from starlette.routing import Mount

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LABELS = ("handler", "method", "status")
REQUESTS = Counter(
    "http_requests_total", "Total number of requests by method, status and handler.", LABELS
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Duration of HTTP requests in seconds",
    LABELS,
    buckets=BUCKETS,
)
EXCLUDED = frozenset({"/metrics"})
UNMATCHED = "none"
MAX_KEPT = 4096  # label sets whose children are kept (methods are the client's to choose)
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(handler: str, method: str, status: int, seconds: float) -> None:
    """Count one request and its duration."""
    key = (handler, method, status)
    children = _children.get(key)
    if children is None:
        labels = (handler, method, str(status))
        children = REQUESTS.labels(*labels), LATENCY.labels(*labels)
        if len(_children) < MAX_KEPT:
            _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


class Templates:
    """An app's route templates: exact paths in a set, the others as (regex, template)."""

    def __init__(self, app: Any) -> None:
        self.exact: set[str] = set()
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for context in iter_route_contexts(app.routes):
            path = context.path
            if not path:
                continue
            if isinstance(context.original_route, Mount):  # its whole subtree
                self.patterns.append((re.compile(re.escape(path) + "/"), path))
            elif "{" in path:
                regex = getattr(context, "path_regex", None) or getattr(
                    context.original_route, "path_regex", None
                )
                if regex is not None:
                    self.patterns.append((regex, path))
            else:
                self.exact.add(path)

    def handler(self, path: str) -> str:
        """The template that names `path`, or "none"."""
        if path in self.exact:
            return path
        for regex, template in self.patterns:
            if regex.match(path):
                return template
        return UNMATCHED


def templates(app: Any) -> Templates:
    """The app's templates, computed on its first request (not from app.openapi(): building the
    document would cost that request, usually a readiness probe, a third of a second)."""
    found: Templates | None = getattr(app.state, "route_templates", None)
    if found is None:
        found = app.state.route_templates = Templates(app)
    return found
