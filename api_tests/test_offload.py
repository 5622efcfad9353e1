"""Large training bodies are parsed in a child process: the same answers and errors as usual."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("in_process_only")


@pytest.fixture
def in_process_only(in_process: bool) -> None:
    """These tests compare the two paths of one in-process app."""
    if not in_process:
        pytest.skip("changes the in-process app's settings")


def dataset(rows: int) -> dict[str, Any]:
    """A custom dataset of `rows` rows."""
    rng = np.random.default_rng(rows)
    return {"X": rng.normal(0, 1, (rows, 5)).tolist(), "y": rng.normal(0, 1, rows).tolist()}


def both_paths(client: Any, override: Any, path: str, body: Any) -> tuple[Any, Any]:
    """The answers through FastAPI's path and through the child (threshold 0: every body)."""
    usual = client.post(path, json=body)
    override(parse_in_child_above_bytes=0)
    child = client.post(path, json=body)
    return usual, child


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/train", {"optimizer": "adam", "epochs": 3, "data": dataset(300), "shuffle": True}),
        ("/train", {"epochs": 2, "data": dataset(40), "standardize": True}),
        ("/train/batch", {"configs": [{"data": dataset(30)}, {"optimizer": "momentum"}]}),
        ("/compare", {"epochs": 4, "data": dataset(25)}),
    ],
)
def test_a_body_parsed_in_the_child_gets_the_same_answer(
    client: Any, override: Any, path: str, body: Any
) -> None:
    usual, child = both_paths(client, override, path, body)
    assert usual.status_code == child.status_code == 200
    assert child.json() == usual.json()


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"X": [[1.0, 2.0, 3.0, 4.0]], "y": [1.0]}},
        {"data": {"X": [[1.0, 2.0, 3.0, 4.0, "5"]], "y": [1.0]}},
        {"data": {"X": [[1.0, 2.0, 3.0, 4.0, 5.0]], "y": [1.0, 2.0]}},
        {"data": dataset(3), "epochs": 0, "surprise": 1},
        [1, 2, 3],
    ],
)
def test_a_bad_body_parsed_in_the_child_gets_the_same_problem(
    client: Any, override: Any, body: Any
) -> None:
    usual, child = both_paths(client, override, "/train", body)
    assert usual.status_code == child.status_code == 422
    assert child.json() == usual.json()
    assert child.headers["content-type"] == usual.headers["content-type"]


def test_malformed_json_parsed_in_the_child_gets_the_same_problem(
    client: Any, override: Any
) -> None:
    raw = b'{"data": {"X": [[1, 2, 3, 4, 5]], "y": [1.0]'
    headers = {"content-type": "application/json"}
    usual = client.post("/train", content=raw, headers=headers)
    override(parse_in_child_above_bytes=0)
    child = client.post("/train", content=raw, headers=headers)
    assert child.status_code == usual.status_code
    assert child.json() == usual.json()


class BrokenPool:
    """An executor whose child died."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        """Fail as a dead process pool does."""
        from concurrent.futures.process import BrokenProcessPool

        raise BrokenProcessPool("the child died")

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Nothing left to stop."""


def test_when_the_child_fails_the_body_is_parsed_in_process_from_then_on(
    client: Any, override: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.api.route_classes import offload

    body = {"epochs": 2, "data": dataset(20)}
    usual = client.post("/train", json=body)
    override(parse_in_child_above_bytes=0)
    monkeypatch.setattr(offload, "_executor", BrokenPool())
    monkeypatch.setattr(offload, "FAILURES", [])
    first, second = client.post("/train", json=body), client.post("/train", json=body)
    assert first.json() == second.json() == usual.json()
    assert offload.FAILURES == ["BrokenProcessPool('the child died')"]
