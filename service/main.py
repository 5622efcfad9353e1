"""Builds the app: metadata, routers, the one error handler, start-up self-check.

Tested by every api_tests module (tests/test_layout.py checks its imports).
"""

from __future__ import annotations

import gc

# Start-up allocates ~200k objects that live as long as the process: collecting while
# they pile up frees nothing and costs ~0.4 s of a start. The lifespan freezes them and resumes.
gc.disable()

from service.deferred_builds import deferred_model_builds

with deferred_model_builds():
    import fastapi  # noqa: F401  (first import of fastapi, whose OpenAPI models wait)

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from service import __version__, logs
from service.api import errors, openapi
from service.api.middleware import auth
from service.api.middleware.layer import RequestLayer
from service.api.route_classes import offload
from service.api.routes import (
    dataset,
    grading,
    graph,
    graphs,
    landing,
    operations,
    plots,
    training,
)
from service.api.schemas.graph import graphs as graph_registry
from service.core.dataset import load_dataset
from service.core.selfcheck import self_check
from service.settings import get_settings, settings_of
from service.warmup import warm

log = logging.getLogger("service")

DESCRIPTION = (
    "Forward pass, backward pass, gradient checking and per-sample training for the course's "
    "computational graph (5 features, 9 weights), exact to the course's reference numbers. "
    "Every error is `application/problem+json` (RFC 9457)."
)
ROUTERS = (graph, graphs, training, grading, plots, dataset, operations, landing)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the dataset and run the self-check before /ready says 200."""
    load_dataset()
    failures = self_check()
    if not warm(settings_of(app)).agrees:  # the kernel compiles or loads now, not in a request
        failures.append("compiled kernel")
    for path, error in graph_registry().errors.items():  # BACKPROP_GRAPHS_DIR's bad files
        log.error("graph preset %s does not load: %s", path, error)
        failures.append(f"graph preset {path}")
    if failures:
        log.error("self-check failed for %s; /ready stays 503", failures)
    app.state.ready = not failures
    auth.announce(settings_of(app))
    gc.freeze()  # no later collection scans the start-up objects
    gc.enable()
    yield
    offload.shutdown()
    logs.flush()  # the access lines still waiting (service/logs.py)


def operation_id(route: APIRoute) -> str:
    """Operation ids are the route names: forward, backward, train, ..."""
    return route.name


def create_app() -> FastAPI:
    """The application, with every router and the error handlers."""
    app = FastAPIOffline(  # Swagger UI and ReDoc assets served locally, no CDN
        title="backprop-service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # FastAPI's own OpenTelemetry spans and metrics: off. The service reports through its
        # access line and /metrics; left on, FastAPI asks OpenTelemetry for its three
        # providers on every request (~3 µs of /forward's CPU, bench/middleware.py).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ready = False
    for module in ROUTERS:
        app.include_router(module.router)
    errors.install(app)
    # One pure ASGI layer: request id, 431, auth, query, body timeout and limits, the direct
    # routes, metrics and the access line (service/api/middleware/layer.py). CORS, when
    # configured, sits outside it: a preflight is answered before the key is asked for.
    app.add_middleware(RequestLayer)
    if origins := get_settings().cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    openapi.install(app)
    logs.configure()
    return app


app = create_app()
