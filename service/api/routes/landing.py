"""The landing page at /: what the service is, and a form that calls /forward and /graph.

Tested by api_tests/test_landing_page.py.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = resources.files("service.web").joinpath("index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def landing() -> HTMLResponse:
    """The page, as plain HTML with its small script inline."""
    return HTMLResponse(PAGE)
