"""GET /dataset, /dataset.csv, /health and /ready."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

SHIPPED = Path(__file__).resolve().parent.parent / "service" / "data" / "backprop_data.csv"


def test_dataset_csv_is_the_shipped_file_byte_for_byte(client: Any) -> None:
    response = client.get("/dataset.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == SHIPPED.read_bytes()


def test_dataset_reports_size_columns_and_sha256(client: Any) -> None:
    response = client.get("/dataset")
    assert response.status_code == 200
    body = response.json()
    assert body["n"] == 506
    assert body["columns"] == ["f1", "f2", "f3", "f4", "f5", "y"]
    assert body["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert len(body["rows"]) == 20


def test_dataset_pages_read_back_the_csv_values_exactly(client: Any) -> None:
    lines = SHIPPED.read_text().splitlines()[1:]
    body = client.get("/dataset", params={"offset": 500, "limit": 50}).json()
    assert body["offset"] == 500
    assert body["rows"] == [[float(v) for v in line.split(",")] for line in lines[500:]]


@pytest.mark.parametrize(
    "params", [{"offset": -1}, {"limit": 0}, {"limit": 507}, {"offset": "a"}, {"offset": 507}]
)
def test_dataset_rejects_bad_paging(client: Any, params: dict[str, Any]) -> None:
    response = client.get("/dataset", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_health_and_ready_answer_ok_once_started(client: Any) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


def test_ready_is_503_before_the_self_check_passed(in_process: bool) -> None:
    if not in_process:
        pytest.skip("needs the app object")
    from fastapi.testclient import TestClient

    from service.main import create_app

    app = create_app()
    response = TestClient(app).get("/ready")  # no lifespan: nothing loaded or checked yet
    assert response.status_code == 503
    assert response.json() == {"status": "starting"}


def test_unknown_paths_and_methods_are_problems(client: Any) -> None:
    missing = client.get("/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong_method = client.get("/forward")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405
