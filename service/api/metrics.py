"""Prometheus metrics: HTTP requests and latency per route template and status, plus the work done.

Other modules record what they did through `record_training` and `record_grade`; `instrument`
adds prometheus-fastapi-instrumentator's pure ASGI middleware to an app. Metrics live in the
process: with several worker processes, scrape each one (or set PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest
from prometheus_fastapi_instrumentator import metrics as http
from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware
from starlette.requests import Request

TRAININGS = Counter(
    "backprop_trainings_total",
    "Training runs finished, by optimizer and status.",
    ["optimizer", "status"],
)
TRAINING_STEPS = Counter(
    "backprop_training_steps_total", "Per-sample updates performed, by optimizer.", ["optimizer"]
)
GRADES = Counter(
    "backprop_grade_verdicts_total", "Graded submissions, by task and verdict.", ["task", "verdict"]
)
# Made once per process: the instrumentator registers each metric name only once.
HTTP_METRICS = [
    http.requests(),
    http.latency(
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
    ),
]

router = APIRouter(tags=["operations"])


def record_training(optimizer: str, status: str, steps: int) -> None:
    """Count one finished training run and its updates."""
    TRAININGS.labels(optimizer, status).inc()
    TRAINING_STEPS.labels(optimizer).inc(steps)


def record_grade(task: str, passed: bool) -> None:
    """Count one graded submission."""
    GRADES.labels(task, "pass" if passed else "fail").inc()


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


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics() -> Response:
    """Requests and latency per route and status, trainings and their steps, grade verdicts.

    Public even when API keys are required (scrapers and probes carry no key).
    """
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
