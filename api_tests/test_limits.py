"""Configured limits (BACKPROP_*): refused with the limit in the message, before any work."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from api_tests.support.course import COURSE_W
from api_tests.support.hostile import JSON, assert_healthy, assert_problem, post_operations


def _body_of_size(size: int) -> bytes:
    body = json.dumps({"w": COURSE_W, "row": 0}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_the_body_limit_follows_the_settings(client: Any, override: Any) -> None:
    override(max_body_bytes=300)
    assert client.post("/forward", content=_body_of_size(300), headers=JSON).status_code == 200
    problem = assert_problem(
        client.post("/forward", content=_body_of_size(301), headers=JSON), 413, "body-too-large"
    )
    assert "300 bytes (BACKPROP_MAX_BODY_BYTES)" in problem["detail"]
    assert_healthy(client)


def test_limits_are_read_from_backprop_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.settings import Settings

    monkeypatch.setenv("BACKPROP_MAX_BODY_BYTES", "1234")
    monkeypatch.setenv("BACKPROP_MAX_EPOCHS", "7")
    monkeypatch.setenv("BACKPROP_MAX_GRADE_BATCH", "3")
    settings = Settings()
    assert (settings.max_body_bytes, settings.max_epochs, settings.max_grade_batch) == (1234, 7, 3)


def test_defaults_are_the_documented_ones() -> None:
    from service.settings import Settings

    defaults = Settings.model_fields
    assert defaults["max_body_bytes"].default == 8 * 1024 * 1024
    assert defaults["max_dataset_rows"].default == 200_000
    assert defaults["max_epochs"].default == 10_000
    assert defaults["max_total_steps"].default == 50_000_000
    assert defaults["max_grade_batch"].default == 1_000


def test_too_many_epochs_is_a_422_naming_the_limit(client: Any, override: Any) -> None:
    override(max_epochs=5)
    problem = assert_problem(client.post("/train", json={"epochs": 6}), 422, "limit-exceeded")
    assert "BACKPROP_MAX_EPOCHS" in problem["detail"]
    assert "5" in problem["detail"]
    assert client.post("/train", json={"epochs": 5}).status_code == 200


def test_too_many_rows_is_a_422_naming_the_limit(client: Any, override: Any) -> None:
    override(max_dataset_rows=2)
    data = {"X": [[0.1] * 5] * 3, "y": [1.0] * 3}
    problem = assert_problem(
        client.post("/train", json={"data": data, "epochs": 1}), 422, "limit-exceeded"
    )
    assert "BACKPROP_MAX_DATASET_ROWS" in problem["detail"]


def test_too_many_steps_is_refused_before_any_training_starts(client: Any, override: Any) -> None:
    from service.api.counters import TRAININGS

    override(max_total_steps=1_000)
    before = TRAININGS.labels("adam", "completed")._value.get()
    start = time.perf_counter()
    response = client.post("/train", json={"optimizer": "adam", "epochs": 10_000})
    elapsed = time.perf_counter() - start
    problem = assert_problem(response, 422, "limit-exceeded")
    assert "5060000" in problem["detail"]
    assert "1000 (BACKPROP_MAX_TOTAL_STEPS)" in problem["detail"]
    assert elapsed < 1.0
    assert TRAININGS.labels("adam", "completed")._value.get() == before


def test_a_grade_batch_over_the_limit_is_a_422_naming_it(client: Any, override: Any) -> None:
    batch = next(op for op in post_operations(client) if op.path == "/grade/batch")
    override(max_grade_batch=1)
    items = batch.example["items"][:1] * 2
    problem = assert_problem(
        client.post("/grade/batch", json={**batch.example, "items": items}), 422, "limit-exceeded"
    )
    assert "BACKPROP_MAX_GRADE_BATCH" in problem["detail"]
