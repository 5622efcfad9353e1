"""Builds the app: metadata, routers, the one error handler, start-up self-check."""

from __future__ import annotations

import gc

# Start-up allocates ~200k objects that live as long as the process: collecting while
# they pile up frees nothing and costs ~0.4 s of a start. The lifespan freezes them and resumes.
gc.disable()

from service.startup import deferred_model_builds

with deferred_model_builds():
    import fastapi  # noqa: F401  (first import of fastapi, whose OpenAPI models wait)

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from service import __version__, logs
from service.api import (
    auth,
    comparison,
    compute,
    dataset,
    grading,
    graph,
    health,
    landing,
    metrics,
    offload,
    openapi,
    plots,
    training,
    version,
)
from service.api.access import RequestContext, request_id
from service.api.auth import ApiKeyAuth
from service.api.body import BodyGuard
from service.api.problems import dotted, problem
from service.api.query import QueryGuard
from service.core.dataset import load_dataset
from service.core.errors import BackpropError
from service.core.selfcheck import self_check
from service.settings import get_settings, settings_of
from service.warmup import warm

log = logging.getLogger("service")

DESCRIPTION = (
    "Forward pass, backward pass, gradient checking and per-sample training for the course's "
    "computational graph (5 features, 9 weights), exact to the course's reference numbers. "
    "Every error is `application/problem+json` (RFC 9457)."
)


async def on_backprop_error(request: Request, exc: Exception) -> JSONResponse:
    """Every error the core raises."""
    assert isinstance(exc, BackpropError)
    return problem(
        exc.status, exc.title, exc.detail, exc.slug, errors=exc.errors, headers=exc.headers
    )


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic's validation errors, listed per field, never echoing the input."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": dotted(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
    if len(errors) > 5:
        detail += f"; and {len(errors) - 5} more"
    return problem(422, "Invalid request", detail, "validation", errors=errors)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """404, 405 and other HTTP errors raised by the framework."""
    assert isinstance(exc, HTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = str(exc.detail)
    headers = exc.headers
    if exc.status_code == 405 and (allow := openapi.allowed(request.app, request.url.path)):
        headers = {**(headers or {}), "Allow": allow}  # every method of the path, not one route's
    return problem(exc.status_code, title, detail, f"http-{exc.status_code}", headers=headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: a bug, reported without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    rid = request_id(request.scope)  # this response bypasses RequestContext: add the id here
    headers = {"X-Request-ID": rid} if rid else None
    detail = "An unexpected error occurred."
    return problem(500, "Internal error", detail, "internal", headers=headers)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the dataset and run the self-check before /ready says 200."""
    load_dataset()
    failures = self_check()
    if not warm(settings_of(app)).agrees:  # the kernel compiles or loads now, not in a request
        failures.append("compiled kernel")
    if failures:
        log.error("self-check failed for %s; /ready stays 503", failures)
    app.state.ready = not failures
    auth.announce(settings_of(app))
    gc.freeze()  # no later collection scans the start-up objects
    gc.enable()
    yield
    offload.shutdown()


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
    )
    app.state.ready = False
    for module in (
        compute,
        graph,
        training,
        grading,
        comparison,
        plots,
        dataset,
        health,
        version,
        metrics,
        landing,
    ):
        app.include_router(module.router)
    app.add_exception_handler(BackpropError, on_backprop_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    # Pure ASGI layers, outermost last: id and access log, metrics, CORS, auth, query, body.
    app.add_middleware(BodyGuard)
    app.add_middleware(QueryGuard)
    app.add_middleware(ApiKeyAuth)
    if origins := get_settings().cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    metrics.instrument(app)
    app.add_middleware(RequestContext)
    openapi.install(app)
    logs.configure()
    return app


app = create_app()
