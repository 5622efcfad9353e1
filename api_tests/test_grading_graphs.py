"""Grading cases on another graph than the course's: a preset by name or an inline definition,
as /forward, /backward and /gradcheck take it; items and lengths checked against the graph."""

from __future__ import annotations

from typing import Any

import pytest

CS231N = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}
INLINE = {
    "graph": {
        "inputs": ["x0", "x1"],
        "weights": ["w0", "w1"],
        "nodes": {"h": "tanh(w0*x0)", "y_pred": "h + sin(w1*x1)"},
    },
    "w": [0.3, -0.8],
    "x": [1.5, 0.4],
    "y": 0.2,
}


def _grade(client: Any, body: dict[str, Any]) -> Any:
    response = client.post("/grade", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _labels(result: Any) -> set[str]:
    return {label for item in result["items"] for label in item["labels"]}


@pytest.mark.parametrize("case", [CS231N, INLINE], ids=["preset", "inline"])
def test_the_service_s_own_answers_score_full(client: Any, case: dict[str, Any]) -> None:
    forward = client.post("/forward", json=case).json()
    backward = client.post("/backward", json=case).json()["gradients"]
    result = _grade(client, {"task": "forward", "case": case, "submission": forward})
    assert result["score"] == result["max_score"] == len(forward)
    no_y_pred = {k: v for k, v in forward.items() if k != "y_pred"}
    result = _grade(client, {"task": "forward", "case": case, "submission": no_y_pred})
    assert [i["name"] for i in result["items"]] == list(no_y_pred)  # y_pred only when submitted
    result = _grade(client, {"task": "backward", "case": case, "submission": backward})
    assert result["passed"]
    assert result["max_score"] == len(case["w"])
    check = client.post("/gradcheck", json={**case, "eps": 1e-7}).json()
    body = {"task": "gradcheck", "case": {**case, "eps": 1e-7},
            "submission": {"difference": check["difference"],
                           "numerical": [r["numerical"] for r in check["weights"]]}}  # fmt: skip
    assert _grade(client, body)["passed"]


def test_a_wrong_backward_of_an_inline_graph_is_named(client: Any) -> None:
    right = client.post("/backward", json=INLINE).json()["gradients"]
    wrong = {k: -v for k, v in right.items()}
    result = _grade(client, {"task": "backward", "case": INLINE, "submission": wrong})
    assert not result["passed"]
    assert _labels(result) == {"sign_flip@dy_pred"}


def test_a_wrong_gradient_check_of_a_preset_is_named(client: Any) -> None:
    check = client.post("/gradcheck", json={**CS231N, "eps": 1e-4}).json()
    g = [r["analytic"] for r in check["weights"]]
    ahead = [r["forward_difference"] for r in check["weights"]]
    one_sided = {"task": "gradcheck", "case": {**CS231N, "eps": 1e-4},
                 "submission": {"numerical": ahead}}  # fmt: skip
    result = _grade(client, one_sided)
    assert not result["passed"]
    assert "gc_forward_difference" in _labels(result)
    assert len(g) == 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"task": "backward", "case": CS231N, "submission": {"dw9": 1.0}}, "dw0, dw1, dw2"),
        ({"task": "forward", "case": CS231N, "submission": {"exp": 1.0}}, "unknown item(s) exp"),
        (
            {
                "task": "backward",
                "case": CS231N,
                "submission": {"dw0": 1.0},
                "points": {"dw1": 2, "dw7": 1},
            },
            "points: unknown item(s) dw7",
        ),  # fmt: skip
        (
            {"task": "backward", "case": {**CS231N, "w": [1.0] * 9}, "submission": {"dw0": 1.0}},
            "'w' has 9 values; the graph takes 3",
        ),  # fmt: skip
        (
            {
                "task": "gradcheck",
                "case": {**CS231N, "eps": 1e-7},
                "submission": {"numerical": [0.1] * 9},
            },
            "'numerical' has 9 values; the graph takes 3",
        ),  # fmt: skip
        (
            {
                "task": "gradcheck",
                "case": {**CS231N, "eps": 1e-7, "gradients": [0.1] * 2},
                "submission": {"difference": 0.1},
            },
            "'gradients' has 2 values",
        ),  # fmt: skip
        ({"task": "forward", "case": {**CS231N, "graph": "nope"}, "submission": {}}, "nope"),
    ],
)
def test_another_graph_s_case_is_checked_against_it(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/grade", json=body)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]
    batch = client.post("/grade/batch", json={"items": [body]}).json()["results"][0]
    assert batch["gradable"] is False
    assert fragment in batch["reason"]


def test_the_course_graph_named_keeps_its_fixed_shapes(client: Any) -> None:
    body = {"task": "backward", "case": {"graph": "course", "w": [0.1] * 9, "row": 0},
            "submission": {"dw0": 1.0}}  # fmt: skip
    response = client.post("/grade", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "extra_forbidden"


def test_a_batch_of_repeats_is_graded_once_each_answer_its_own_index(client: Any) -> None:
    backward = client.post("/backward", json=CS231N).json()["gradients"]
    item = {"task": "backward", "case": CS231N, "submission": backward}
    results = client.post("/grade/batch", json={"items": [item] * 3}).json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert all(r["result"]["passed"] for r in results)
