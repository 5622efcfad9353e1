"""X-Request-ID, JSON access lines, /metrics and /version."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
from importlib.metadata import version
from importlib.resources import files
from typing import Any

import pytest

from api_tests.support.course import COURSE_W
from api_tests.support.hostile import JSON, post_operations

POINT = {"w": COURSE_W, "row": 0}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/forward", json.dumps(POINT).encode(), 200),
        ("GET", "/health", None, 200),
        ("GET", "/no-such-thing", None, 404),
        ("POST", "/forward", b'{"w": [1]}', 422),
        ("POST", "/forward", b'{"w": [', 400),
        ("POST", "/forward", b"x" * (9 * 1024 * 1024), 413),
    ],
)
def test_every_response_carries_a_fresh_request_id(
    client: Any, method: str, path: str, body: bytes | None, status: int
) -> None:
    response = client.request(method, path, content=body, headers=JSON)
    assert response.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    again = client.request(method, path, content=body, headers=JSON)
    assert again.headers["x-request-id"] != response.headers["x-request-id"]


def test_a_sane_client_request_id_is_echoed(client: Any) -> None:
    rid = "checkout-2024.11:retry-3"
    response = client.post("/forward", json=POINT, headers={"X-Request-ID": rid})
    assert response.headers["x-request-id"] == rid


@pytest.mark.parametrize("rid", ["has space", "x" * 200, 'quote"d', "", "new\\nline"])
def test_an_odd_client_request_id_is_replaced(client: Any, rid: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": rid})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_each_request_leaves_one_access_line_without_body_or_key(
    client: Any, in_process: bool, caplog: pytest.LogCaptureFixture
) -> None:
    if not in_process:
        pytest.skip("reads the in-process log")
    with caplog.at_level(logging.INFO, logger="service.access"):
        response = client.post(
            "/forward",
            json={"w": [0.123456789] * 9, "row": 0},
            headers={"X-Request-ID": "trace-1", "Authorization": "Bearer secret-abc"},
        )
    lines = [r for r in caplog.records if r.name == "service.access"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["request_id"] == response.headers["x-request-id"] == "trace-1"
    assert fields["method"] == "POST"
    assert fields["path"] == "/forward"
    assert fields["status"] == response.status_code == 200
    assert 0 < fields["duration_ms"] < 10_000
    from service.logs import JsonLines

    entry = json.loads(JsonLines().format(lines[0]))
    assert entry["request_id"] == "trace-1"
    assert {"ts", "level", "logger", "msg", "method", "path", "status", "duration_ms"} <= set(entry)
    assert "0.123456789" not in json.dumps(entry)
    assert "secret-abc" not in json.dumps(entry)


def test_the_access_line_leaves_out_the_query_string(
    client: Any, in_process: bool, caplog: pytest.LogCaptureFixture
) -> None:
    if not in_process:
        pytest.skip("reads the in-process log")
    with caplog.at_level(logging.INFO, logger="service.access"):
        assert client.get("/dataset?offset=7&limit=1").status_code == 200
    (line,) = [r for r in caplog.records if r.name == "service.access"]
    assert line.fields["path"] == "/dataset"  # type: ignore[attr-defined]


def test_the_access_log_can_be_turned_off(
    client: Any, override: Any, caplog: pytest.LogCaptureFixture
) -> None:
    override(access_log=False)
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "service.access"]


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if found == labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def one_process(in_process: bool) -> None:
    """Metrics are per process: behind a load balancer the scrape may reach another replica."""
    if not in_process and os.environ.get("API_REPLICAS", "1") != "1":
        pytest.skip("metrics are per process and API_REPLICAS > 1")


def test_metrics_count_requests_per_route_template_and_status(
    client: Any, one_process: None
) -> None:
    before = client.get("/metrics").text
    client.post("/forward", json=POINT)
    client.post("/forward", json={"w": [1]})
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    for status in ("200", "422"):
        labels = {"handler": "/forward", "method": "POST", "status": status}
        grew = _sample(after.text, "http_requests_total", **labels) - _sample(
            before, "http_requests_total", **labels
        )
        assert grew >= 1
        assert _sample(after.text, "http_request_duration_seconds_count", **labels) >= 1


def test_metrics_count_trainings_by_optimizer_and_status_and_their_steps(
    client: Any, one_process: None
) -> None:
    before = client.get("/metrics").text
    assert client.post("/train", json={"optimizer": "momentum", "epochs": 2}).status_code == 200
    assert client.post("/train", json={"learning_rate": 1e6, "epochs": 2}).status_code == 200
    after = client.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("backprop_trainings_total", optimizer="momentum", status="completed") >= 1
    assert grew("backprop_trainings_total", optimizer="sgd", status="diverged") >= 1
    assert grew("backprop_training_steps_total", optimizer="momentum") >= 2 * 506


def test_grade_verdicts_are_counted_by_task_and_verdict(client: Any, one_process: None) -> None:
    grade = next(op for op in post_operations(client) if op.path == "/grade")
    before = client.get("/metrics").text
    response = client.post("/grade", json=grade.example)
    assert response.status_code == 200
    after = client.get("/metrics").text
    task = grade.example["task"]
    counted = sum(
        _sample(after, "backprop_grade_verdicts_total", task=task, verdict=verdict)
        - _sample(before, "backprop_grade_verdicts_total", task=task, verdict=verdict)
        for verdict in ("pass", "fail")
    )
    assert counted == 1


def test_version_names_the_service_dataset_and_number_libraries(client: Any) -> None:
    response = client.get("/version")
    assert response.status_code == 200
    body = response.json()
    shipped = files("service.data").joinpath("backprop_data.csv").read_bytes()
    assert body["dataset_sha256"] == hashlib.sha256(shipped).hexdigest()
    assert body["python"] == platform.python_version()
    for name in ("numpy", "numba", "scikit-learn", "fastapi", "pydantic"):
        assert body["libraries"][name] == version(name)
    from service import __version__

    assert body["service"] == __version__


def test_an_unexpected_error_is_a_500_problem_that_still_carries_the_request_id(
    in_process: bool, caplog: pytest.LogCaptureFixture
) -> None:
    if not in_process:
        pytest.skip("adds a failing route to an in-process app")
    from fastapi.testclient import TestClient

    from service.main import create_app

    app = create_app()

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("internal detail 3.14159")

    with (
        caplog.at_level(logging.INFO, logger="service"),
        TestClient(app, raise_server_exceptions=False) as local,
    ):
        response = local.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "trace-500"
    assert "3.14159" not in response.text
    (line,) = [r for r in caplog.records if r.name == "service.access"]
    assert line.fields["status"] == 500  # type: ignore[attr-defined]


def test_headers_over_64_kib_that_reach_the_app_get_a_431_problem(
    client: Any, in_process: bool
) -> None:
    if not in_process:
        pytest.skip("a live server's own cap, or a proxy's, answers before the app")
    # The server caps most such requests itself; one read can still carry a whole 100 KiB
    # block past it (api_tests/test_slow_clients.py), and the app then answers the same status.
    response = client.get("/health", headers={"X-Big": "a" * (100 * 1024)})
    assert response.status_code == 431
    assert response.json()["type"] == "/problems/headers-too-large"
    assert response.headers["x-request-id"]
