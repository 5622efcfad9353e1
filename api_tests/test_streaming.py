"""Accept: text/event-stream on /train, /train/batch, /compare, /grade/batch: progress, then the
same JSON as without streaming; refusals before any work stay problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from api_tests.support.live import BASE_URL
from api_tests.support.sse import Event, parse

STREAM = {"Accept": "text/event-stream"}
SGD_3_EPOCHS = [0.6971190975160021, 0.34157827684854475, 0.18041209251675192]  # the course's

CASES = {
    "train": ("/train", {"optimizer": "adam", "epochs": 1200}),
    "batch": (
        "/train/batch",
        {
            "configs": [
                {"optimizer": "sgd", "epochs": 600},
                {"optimizer": "momentum", "epochs": 400, "shuffle": True, "seed": 3},
            ]
        },
    ),
    "compare": ("/compare", {"epochs": 500}),
    "grade_batch": (
        "/grade/batch",
        {
            "items": [
                {
                    "task": "train",
                    "case": {"optimizer": "sgd", "epochs": 3},
                    "submission": {"loss_history": SGD_3_EPOCHS},
                },
                {"task": "forward", "case": {"w": [0.1] * 8, "row": 0}},
                {
                    "task": "train",
                    "case": {"optimizer": "adam", "epochs": 800},
                    "submission": {"loss_history": [0.5] * 800},
                },
            ]
        },
    ),
}


def _stream(client: Any, path: str, body: Any) -> list[Event]:
    response = client.post(path, json=body, headers=STREAM)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    if not BASE_URL:  # nginx takes the header for itself (and passes each event on at once)
        assert response.headers["x-accel-buffering"] == "no"
    return parse(response.text)


@pytest.mark.parametrize("case", CASES)
def test_the_result_event_is_the_json_the_same_request_answers(client: Any, case: str) -> None:
    path, body = CASES[case]
    plain = client.post(path, json=body)
    assert plain.status_code == 200
    events = _stream(client, path, body)
    assert [e.event for e in events][-1] == "result"
    assert [e.event for e in events[:-1]] == ["progress"] * (len(events) - 1)
    assert events[-1].json() == plain.json()  # parsed: the same numbers, bit for bit


def test_train_progress_counts_epochs_up_to_the_last_with_its_loss(client: Any) -> None:
    path, body = CASES["train"]
    events = _stream(client, path, body)
    progress = [e.json() for e in events if e.event == "progress"]
    result = events[-1].json()
    assert progress, "no progress event"
    epochs = [p["epoch"] for p in progress]
    assert epochs == sorted(set(epochs))
    assert all(p["epochs"] == body["epochs"] for p in progress)
    last = progress[-1]  # the last one is always sent
    assert last["epoch"] == body["epochs"]
    assert last["loss"] == result["loss_history"][-1]
    for p in progress:
        assert p["loss"] == result["loss_history"][p["epoch"] - 1]


def test_batch_progress_names_the_run(client: Any) -> None:
    path, body = CASES["batch"]
    progress = [e.json() for e in _stream(client, path, body) if e.event == "progress"]
    assert progress
    assert {p["runs"] for p in progress} == {2}
    assert {p["run"] for p in progress} <= {0, 1}
    result = client.post(path, json=body).json()["results"]
    for p in progress:
        assert p["loss"] == result[p["run"]]["loss_history"][p["epoch"] - 1]


def test_grade_batch_progress_names_the_item(client: Any) -> None:
    path, body = CASES["grade_batch"]
    progress = [e.json() for e in _stream(client, path, body) if e.event == "progress"]
    assert progress
    assert {p["items"] for p in progress} == {3}
    assert progress[-1]["item"] == 2  # the last item's progress is always sent
    items = [p["item"] for p in progress]
    assert items == sorted(items)


@pytest.mark.parametrize(
    ("path", "body", "status", "slug"),
    [
        ("/train", {"epochs": 10**9}, 422, "limit-exceeded"),
        ("/train", {"optimizer": "nope"}, 422, "validation"),
        ("/train/batch", {"configs": [{"epochs": 10_000}] * 11}, 422, "limit-exceeded"),
        ("/compare", {"configs": []}, 422, "validation"),
        ("/grade/batch", {"items": "x"}, 422, "validation"),
    ],
)
def test_refusals_before_any_work_stay_problem_json(
    client: Any, path: str, body: Any, status: int, slug: str
) -> None:
    response = client.post(path, json=body, headers=STREAM)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"/problems/{slug}"


def test_a_grade_batch_over_the_limit_is_refused_before_the_stream(client: Any) -> None:
    item = {"task": "forward", "case": {"w": [0.1] * 9, "row": 0}}
    response = client.post("/grade/batch", json={"items": [item] * 1001}, headers=STREAM)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "text/event-stream;q=0.5, application/json", ""]
)
def test_json_is_answered_unless_the_stream_is_preferred(client: Any, accept: str) -> None:
    response = client.post("/train", json={"epochs": 2}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_a_stream_ranked_first_is_answered(client: Any) -> None:
    accept = "application/json;q=0.5, text/event-stream"
    response = client.post("/train", json={"epochs": 2}, headers={"Accept": accept})
    assert response.headers["content-type"].startswith("text/event-stream")


def test_openapi_declares_the_event_stream_on_the_four_routes(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/train", "/train/batch", "/compare", "/grade/batch"):
        content = paths[path]["post"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/event-stream"}, path
        assert "$ref" in content["application/json"]["schema"]
    assert "text/event-stream" not in paths["/forward"]["post"]["responses"]["200"]["content"]
