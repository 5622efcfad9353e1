"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from service.api.schemas import Schema

router = APIRouter(tags=["health"])


class Health(Schema):
    """A process's state."""

    status: str = Field(description="'ok', or 'starting' before the self-check passed.")


@router.get("/health", summary="Liveness: the process answers")
async def health() -> Health:
    """Always 200 while the process runs."""
    return Health(status="ok")


@router.get(
    "/ready",
    summary="Readiness: dataset loaded and self-check passed",
    responses={503: {"model": Health, "description": "Not ready yet."}},
)
async def ready(request: Request) -> Health:
    """200 once the dataset is loaded and the SPEC §3 self-check passed, else 503."""
    if not getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503)  # type: ignore[return-value]
    return Health(status="ok")
