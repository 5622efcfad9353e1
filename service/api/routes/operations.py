"""Operations routes: liveness, readiness, versions and Prometheus metrics.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import platform
from enum import Enum
from functools import lru_cache
from importlib.metadata import version as installed

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client import REGISTRY as METRICS

from service import __version__
from service.api.schemas.operations import Health, VersionResponse
from service.core.dataset import load_dataset

# Libraries whose version can change a number in a response (or how it is parsed and printed).
LIBRARIES = ("numpy", "numba", "scikit-learn", "fastapi", "pydantic", "pydantic-core", "orjson")

router = APIRouter()
HEALTH: list[str | Enum] = ["health"]  # the tags Swagger UI groups them under
OPERATIONS: list[str | Enum] = ["operations"]


@router.get("/health", tags=HEALTH, summary="Liveness: the process answers")
async def health() -> Health:
    """Always 200 while the process runs."""
    return Health(status="ok")


@router.get(
    "/ready",
    tags=HEALTH,
    summary="Readiness: dataset loaded and self-check passed",
    responses={503: {"model": Health, "description": "Not ready yet."}},
)
async def ready(request: Request) -> Health:
    """200 once the dataset is loaded and the SPEC §3 self-check passed, else 503."""
    if not getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503)  # type: ignore[return-value]
    return Health(status="ok")


@lru_cache(maxsize=1)
def describe() -> VersionResponse:
    """Collect the versions once per process."""
    return VersionResponse(
        service=__version__,
        dataset_sha256=load_dataset().sha256,
        python=platform.python_version(),
        libraries={name: installed(name) for name in LIBRARIES},
    )


@router.get("/version", tags=OPERATIONS, summary="Service, dataset and library versions")
async def version() -> VersionResponse:
    """Report what produced the numbers: quote it alongside a result to make it reproducible."""
    return describe()


@router.get(
    "/metrics",
    tags=OPERATIONS,
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics() -> Response:
    """Requests and latency per route and status, trainings and their steps, grade verdicts.

    Public even when API keys are required (scrapers and probes carry no key).
    """
    return Response(generate_latest(METRICS), media_type=CONTENT_TYPE_LATEST)
