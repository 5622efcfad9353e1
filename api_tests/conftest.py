"""The one `client` fixture: the app in-process, or a live server when API_BASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

BASE_URL = os.environ.get("API_BASE_URL")
COURSE_W = [0.1] * 9


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """An HTTP client of the service under test."""
    if BASE_URL:
        import httpx

        headers = {}
        if key := os.environ.get("API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        with httpx.Client(base_url=BASE_URL, timeout=60, headers=headers) as live:
            yield live
    else:
        from fastapi.testclient import TestClient

        from service.main import app

        with TestClient(app) as local:
            yield local


@pytest.fixture
def in_process() -> bool:
    """Whether the suite runs against the in-process app (so app internals may be touched)."""
    return not BASE_URL
