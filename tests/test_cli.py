"""`backprop-service` starts uvicorn on the app with the production flags."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import uvicorn

from service import cli


def test_the_cli_runs_uvicorn_with_its_options_and_the_production_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(app=app, **options))
    monkeypatch.setattr(sys, "argv", ["backprop-service", "--port", "9001", "--workers", "2"])
    cli.main()
    assert seen["app"] == "service.main:app"
    assert (seen["host"], seen["port"], seen["workers"]) == ("127.0.0.1", 9001, 2)
    assert seen["timeout_graceful_shutdown"] == 60
    assert (seen["ws"], seen["access_log"]) == ("none", False)
