"""The one `client` fixture: the app in-process, or a live server when API_BASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from api_tests.support.live import BASE_URL, base_url, browser  # noqa: F401  (shared browser fixtures)


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


@pytest.fixture
def override(in_process: bool) -> Iterator[Any]:
    """`override(max_epochs=5, ...)`: the in-process app runs with these settings in this test."""
    if not in_process:
        pytest.skip("changes the in-process app's settings")
    from service.main import app
    from service.settings import Settings, get_settings

    def apply(**fields: Any) -> Settings:
        settings = Settings(**fields)
        app.dependency_overrides[get_settings] = lambda: settings
        return settings

    yield apply
    app.dependency_overrides.pop(get_settings, None)
