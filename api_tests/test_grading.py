"""POST /grade and /grade/batch: scores, diagnoses of wrong versions, formats, batch, safety."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from api_tests.support import students
from api_tests.support.course import COURSE_FORWARD, COURSE_GRADIENTS, COURSE_W, ROW0

W = [0.3, -0.2, 0.5, 0.4, -0.6, 0.1, 0.2, -0.3, 0.7]
POINT = {"w": W, **ROW0}
X, Y = ROW0["x"], ROW0["y"]
TANH_SIDE = ["dw1", "dw2", "dw6", "dw7"]
SIGMOID_SIDE = ["dw3", "dw4", "dw5", "dw8"]
GOOD = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": COURSE_FORWARD}


def grade(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    """POST /grade, expecting 200, and the body."""
    response = client.post("/grade", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def item(result: dict[str, Any], name: str) -> dict[str, Any]:
    """One item's feedback from a native grade."""
    return next(i for i in result["items"] if i["name"] == name)


def test_forward_with_the_course_values_scores_full_marks(client: Any) -> None:
    body = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": COURSE_FORWARD}
    result = grade(client, body)
    assert (result["score"], result["max_score"], result["passed"]) == (6.0, 6.0, True)
    assert result["policy"] == {"kind": "relabs", "decimals": 6, "rtol": 1e-10, "atol": 1e-13}
    exact = grade(client, {**body, "policy": "exact"})
    assert all(i["rule"] == "exact: submitted == expected" for i in exact["items"])
    assert exact["score"] == 6.0


def test_one_ulp_off_passes_by_default_and_fails_exact(client: Any) -> None:
    off = {**COURSE_FORWARD, "tanh": math.nextafter(COURSE_FORWARD["tanh"], 2.0)}  # np.tanh
    body = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": off}
    assert grade(client, body)["score"] == 6.0
    result = grade(client, {**body, "policy": "exact"})
    assert result["score"] == 5.0
    assert item(result, "tanh")["passed"] is False
    assert "fix" not in item(result, "tanh")["message"]


def test_forward_without_y_pred_as_the_template_returns_scores_full(client: Any) -> None:
    submission = {k: v for k, v in COURSE_FORWARD.items() if k != "y_pred"}
    body = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": submission}
    result = grade(client, body)
    assert (result["score"], result["max_score"]) == (5.0, 5.0)
    assert "y_pred" not in [i["name"] for i in result["items"]]


def test_backward_with_the_course_gradients_at_6_decimals_scores_full_marks(client: Any) -> None:
    body = {"task": "backward", "case": {"w": COURSE_W, "row": 0}, "submission": COURSE_GRADIENTS}
    result = grade(client, {**body, "policy": "decimals"})
    assert (result["score"], result["max_score"]) == (9.0, 9.0)
    assert result["policy"]["kind"] == "decimals"


def test_missing_items_score_zero_and_points_weigh_items(client: Any) -> None:
    submission = {k: v for k, v in COURSE_FORWARD.items() if k != "loss"}
    body = {
        "task": "forward",
        "case": {"w": COURSE_W, "row": 0},
        "submission": submission,
        "points": {"loss": 4, "exp": 2},
    }
    result = grade(client, body)
    assert (result["score"], result["max_score"]) == (6.0, 10.0)
    loss = item(result, "loss")
    assert (loss["passed"], loss["points"], loss["submitted"]) == (False, 0.0, None)
    assert "missing" in loss["message"]


# the support's mistakes (api_tests/support/students.py) and the catalogue's diagnosis of each
DIAGNOSIS = {
    "dy_pred_sign_flipped": ("sign_flip@dy_pred", "sign flipped"),
    "loss_not_squared": ("wrong_op@loss", "loss not squared"),
    "w7_left_out": ("dropped_term@w7", "w7 left out"),
    "w6_left_out": ("dropped_term@w6", "w6 left out"),
    "w9_on_tanh": ("misplaced@w9", "w9 multiplying tanh"),
    "dw3_sin_for_cos": ("wrong_derivative@sin+dropped_factor@f3", "sin's derivative taken as sin"),
    "dw3_missing_f3": ("dropped_factor@f3", "f3 missing from dw3"),
    "square_missing_2": ("wrong_derivative@square", "taken as a instead of 2*a"),
    "tanh_derivative_one_minus_tanh": ("wrong_derivative@tanh", "1 - tanh,"),
    "tanh_derivative_like_sigmoid": ("wrong_derivative@tanh", "tanh*(1 - tanh)"),
    "sigmoid_derivative_sigmoid": ("wrong_derivative@sigmoid", "sigmoid alone"),
    "w9_missing": ("dropped_factor@w9", "w9 missing from the sigmoid branch"),
    "sign_flipped": ("sign_flip@dy_pred", "sign flipped"),
    "f4_f5_swapped": ("swapped_operands@q", "f4 and f5 swapped"),
}


@pytest.mark.parametrize(
    ("task", "mistake", "items", "phrase"),
    [
        ("forward", "dy_pred_sign_flipped", ["dy_pred"], "sign flipped"),
        ("forward", "loss_not_squared", ["loss"], "loss not squared"),
        ("forward", "w7_left_out", ["tanh", "y_pred", "loss", "dy_pred"], "w7 left out"),
        ("forward", "w6_left_out", ["exp", "tanh", "y_pred", "loss", "dy_pred"], "w6 left out"),
        ("forward", "w9_on_tanh", ["y_pred", "loss", "dy_pred"], "w9 applied to tanh"),
        ("backward", "dw3_sin_for_cos", ["dw3"], "cos(w3*f3)*f3 belongs"),
        ("backward", "dw3_missing_f3", ["dw3"], "without the factor f3"),
        ("backward", "square_missing_2", ["dw1", "dw2"], "factor 2 is missing"),
        ("backward", "tanh_derivative_one_minus_tanh", TANH_SIDE, "1 - tanh,"),
        (
            "backward",
            "tanh_derivative_like_sigmoid",
            ["dw1", "dw2", "dw6", "dw7"],
            "tanh*(1 - tanh)",
        ),
        ("backward", "sigmoid_derivative_sigmoid", SIGMOID_SIDE, "sigmoid alone"),
        ("backward", "w9_missing", SIGMOID_SIDE, "without w9"),
        ("backward", "sign_flipped", [f"dw{i}" for i in range(1, 10)], "sign flipped"),
        ("backward", "f4_f5_swapped", ["dw4", "dw5"], "f4 and f5 swapped"),
    ],
)
def test_forward_and_backward_mistakes_are_diagnosed(
    client: Any, task: str, mistake: str, items: list[str], phrase: str
) -> None:
    student = students.forward if task == "forward" else students.backward
    submission = student(X, Y, W, mistake)
    result = grade(client, {"task": task, "case": POINT, "submission": submission})
    wrong = [i for i in result["items"] if not i["passed"]]
    assert [i["name"] for i in wrong] == items
    for i in wrong:
        assert i["diagnosis"] == DIAGNOSIS[mistake][0]
        assert DIAGNOSIS[mistake][1] in i["message"]


def _numerical(w: list[float], eps: float, one_sided: bool = False) -> list[float]:
    out = []
    for i in range(9):
        plus, minus = list(w), list(w)
        plus[i] += eps
        minus[i] -= eps
        if one_sided:
            out.append((students.loss(X, Y, plus) - students.loss(X, Y, w)) / eps)
        else:
            out.append((students.loss(X, Y, plus) - students.loss(X, Y, minus)) / (2 * eps))
    return out


def _difference(g: list[float], n: Any) -> float:
    g_, n_ = np.array(g), np.asarray(n)
    return float(np.linalg.norm(g_ - n_) / (np.linalg.norm(g_) + np.linalg.norm(n_)))


def test_backward_where_exp_underflows_to_zero_is_graded(client: Any) -> None:
    case = {"w": [0.1] * 5 + [-1000.0] + [0.1] * 3, "row": 0}  # exp(a*a - 1000) == 0.0
    submission = {"dw6": 0.5, "dw7": 1.0, "dw8": 2.0}
    result = grade(client, {"task": "backward", "case": case, "submission": submission})
    assert not item(result, "dw6")["passed"]
    assert item(result, "dw6")["submitted"] == 0.5


def test_gradcheck_of_the_right_numbers_passes(client: Any) -> None:
    n = _numerical(W, 1e-7)
    g = list(students.backward(X, Y, W).values())
    body = {
        "task": "gradcheck",
        "case": {**POINT, "eps": 1e-7},
        "submission": {"difference": _difference(g, n), "numerical": n},
    }
    result = grade(client, body)
    assert (result["score"], result["max_score"]) == (2.0, 2.0)


def test_gradcheck_all_weights_perturbed_at_once_is_diagnosed(client: Any) -> None:
    eps = 1e-7
    at_once = (
        students.loss(X, Y, [v + eps for v in W]) - students.loss(X, Y, [v - eps for v in W])
    ) / (2 * eps)
    g = list(students.backward(X, Y, W).values())
    body = {
        "task": "gradcheck",
        "case": {**POINT, "eps": eps},
        "submission": {"difference": _difference(g, at_once), "numerical": [at_once] * 9},
    }
    result = grade(client, body)
    for i in result["items"]:
        if not i["passed"]:
            assert i["diagnosis"] == "gc_all_at_once"
            assert "perturbed at once" in i["message"]
    assert not item(result, "difference")["passed"]


def test_gradcheck_elementwise_ratio_instead_of_norms_is_diagnosed(client: Any) -> None:
    g = list(students.backward(X, Y, W).values())
    g[0] *= 2.0  # the gradient being checked has a wrong dw1
    n = _numerical(W, 1e-7)
    ratio = float(np.mean((np.array(g) - n) / (np.array(g) + n)))
    case = {**POINT, "eps": 1e-7, "gradients": {f"dw{i + 1}": v for i, v in enumerate(g)}}
    result = grade(client, {"task": "gradcheck", "case": case, "submission": {"difference": ratio}})
    difference = item(result, "difference")
    assert difference["diagnosis"] == "gc_elementwise_ratio"
    assert "elementwise (g - n)/(g + n)" in difference["message"]


def test_gradcheck_one_sided_difference_is_diagnosed(client: Any) -> None:
    eps = 1e-5
    n = _numerical(W, eps, one_sided=True)
    g = list(students.backward(X, Y, W).values())
    body = {
        "task": "gradcheck",
        "case": {**POINT, "eps": eps},
        "submission": {"difference": _difference(g, n), "numerical": n},
    }
    result = grade(client, body)
    assert item(result, "difference")["diagnosis"] == "gc_forward_difference"
    wrong = [i for i in result["items"] if not i["passed"]]
    assert [i["name"] for i in wrong] == ["difference", "numerical"]
    assert all(i["diagnosis"] == "gc_forward_difference" for i in wrong)
    assert all("one-sided" in i["message"] for i in wrong)


def test_gradcheck_at_a_flat_point_grades_a_zero_difference(client: Any) -> None:
    # x = 0, tanh and sigmoid saturated at 1.0, w9 = 0, y = 1: the loss is 0, every gradient is 0,
    # and with eps a power of two all nine weights perturbed at once also give exactly 0 (0/0).
    case = {"w": [0, 0, 0, 0, 0, 5, 0, 50, 0], "x": [0] * 5, "y": 1.0, "eps": 2.0**-20}
    result = grade(client, {"task": "gradcheck", "case": case, "submission": {"difference": 0.5}})
    assert not item(result, "difference")["passed"]
    right = grade(client, {"task": "gradcheck", "case": case, "submission": {"difference": 0.0}})
    assert item(right, "difference")["passed"]


DATA_RNG = np.random.default_rng(7)
TRAIN_X = DATA_RNG.normal(size=(30, 5))
TRAIN_Y = np.array([students.forward(x, 0.0, [1.0] * 9)["y_pred"] for x in TRAIN_X])
W0 = (DATA_RNG.normal(size=9) * 0.1).tolist()


def _train_case(optimizer: str, epochs: int = 4) -> dict[str, Any]:
    return {
        "optimizer": optimizer,
        "epochs": epochs,
        "initial_weights": W0,
        "data": {"X": TRAIN_X.tolist(), "y": TRAIN_Y.tolist()},
    }


LR = {"sgd": 0.001, "momentum": 0.01, "adam": 0.001}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_train_with_the_course_loop_scores_full_marks(client: Any, optimizer: str) -> None:
    history, final = students.train(TRAIN_X, TRAIN_Y, W0, 4, optimizer, LR[optimizer])
    body = {
        "task": "train",
        "case": _train_case(optimizer),
        "submission": {"loss_history": history, "final_weights": final},
    }
    result = grade(client, body)
    assert (result["score"], result["max_score"]) == (2.0, 2.0)


@pytest.mark.parametrize(
    ("optimizer", "mistake", "phrase"),
    [
        ("sgd", "loss_after_updates", "loss taken after the updates"),
        ("sgd", "full_batch", "one update per epoch"),
        ("adam", "bias_correction", "Adam with bias correction"),
        ("momentum", "torch_momentum", "torch's momentum"),
    ],
)
def test_train_mistakes_are_diagnosed(
    client: Any, optimizer: str, mistake: str, phrase: str
) -> None:
    written = "adam_bias_correction_flipped" if mistake == "bias_correction" else mistake
    history, _ = students.train(TRAIN_X, TRAIN_Y, W0, 4, optimizer, LR[optimizer], written)
    body = {
        "task": "train",
        "case": _train_case(optimizer),
        "submission": {"loss_history": history},
    }
    result = grade(client, body)
    loss_history = item(result, "loss_history")
    assert loss_history["diagnosis"] == mistake
    assert phrase in loss_history["message"]
    assert loss_history["first_mismatch"] is None  # hidden unless reveal_expected
    shown = item(grade(client, {**body, "reveal_expected": True}), "loss_history")
    assert shown["first_mismatch"] == 1
    assert "It first leaves tolerance at epoch 1 of 4." in shown["message"]


def test_train_says_the_first_epoch_where_the_history_leaves_tolerance(client: Any) -> None:
    history, _ = students.train(TRAIN_X, TRAIN_Y, W0, 4)
    history[2] *= 1.001
    body = {
        "task": "train",
        "case": _train_case("sgd"),
        "submission": {"loss_history": history},
        "reveal_expected": True,
    }
    loss_history = item(grade(client, body), "loss_history")
    assert (loss_history["passed"], loss_history["first_mismatch"]) == (False, 3)
    assert "epoch 3 of 4" in loss_history["message"]


def test_train_history_shorter_than_the_epochs_is_graded_on_those_given(client: Any) -> None:
    history, _ = students.train(TRAIN_X, TRAIN_Y, W0, 4)
    body = {
        "task": "train",
        "case": _train_case("sgd"),
        "submission": {"loss_history": history[:3]},
    }
    assert item(grade(client, body), "loss_history")["passed"]
    longer = {**body, "submission": {"loss_history": [*history, 0.5]}}
    loss_history = item(grade(client, longer), "loss_history")
    assert not loss_history["passed"]
    assert "It has 5 entries; 4 are expected." in loss_history["message"]


def _all_numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _all_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _all_numbers(v)]
    return [value] if isinstance(value, float) else []


@pytest.mark.parametrize("fmt", ["native", "gradescope", "prairielearn"])
def test_hidden_expected_values_appear_nowhere_in_the_answer(client: Any, fmt: str) -> None:
    submission = students.forward(X, Y, W, "w7_left_out")
    body = {"task": "forward", "case": POINT, "submission": submission, "format": fmt}
    hidden = client.post("/grade", json=body)
    assert hidden.status_code == 200
    expected = students.forward(X, Y, W)
    for value in expected.values():
        if value not in submission.values():
            assert repr(value) not in hidden.text
            assert value not in _all_numbers(hidden.json())
    shown = client.post("/grade", json={**body, "reveal_expected": True})
    assert repr(expected["tanh"]) in shown.text


def test_hidden_errors_are_not_shown_at_all(client: Any) -> None:
    submission = students.forward(X, Y, W, "w7_left_out")
    result = grade(client, {"task": "forward", "case": POINT, "submission": submission})
    tanh = item(result, "tanh")
    assert (tanh["expected"], tanh["error"], tanh["first_mismatch"]) == (None, None, None)
    revealed = grade(
        client,
        {"task": "forward", "case": POINT, "submission": submission, "reveal_expected": True},
    )
    exact = item(revealed, "tanh")
    assert exact["error"] == abs(exact["submitted"] - exact["expected"])


GRADESCOPE_TOP = {
    "score", "max_score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
GRADESCOPE_TEST = {
    "score", "max_score", "status", "name", "name_format", "number", "output",
    "output_format", "tags", "visibility", "extra_data",
}  # fmt: skip
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def test_gradescope_format_is_a_valid_results_json(client: Any) -> None:
    submission = students.backward(X, Y, W, "w9_missing")
    body = {"task": "backward", "case": POINT, "submission": submission, "format": "gradescope"}
    results = grade(client, body)
    assert set(results) <= GRADESCOPE_TOP
    assert {"score", "tests"} <= set(results)
    assert results["visibility"] in VISIBILITY
    assert results["stdout_visibility"] in VISIBILITY
    assert len(results["tests"]) == 9
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert isinstance(test["name"], str)
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITY
        assert test["status"] in {"passed", "failed"}
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(t["score"] for t in results["tests"]) == 5.0
    dw8 = next(t for t in results["tests"] if t["name"] == "dw8")
    assert "w9 missing from the sigmoid branch" in dw8["output"]
    assert results["max_score"] == results["extra_data"]["max_score"] == 9.0


PL_TOP = {
    "gradable", "score", "message", "output", "images", "tests", "format_errors",
    "partial_scores", "service_version", "dataset_sha256",
}  # fmt: skip
PL_TEST = {"name", "description", "points", "max_points", "message", "output", "images"}


def test_prairielearn_format_has_a_score_in_0_1_and_tests(client: Any) -> None:
    submission = students.forward(X, Y, W, "dy_pred_sign_flipped")
    body = {"task": "forward", "case": POINT, "submission": submission, "format": "prairielearn"}
    results = grade(client, body)
    assert set(results) <= PL_TOP
    assert results["gradable"] is True
    assert 0.0 <= results["score"] <= 1.0
    assert results["score"] == pytest.approx(5 / 6, rel=1e-15)
    assert isinstance(results["message"], str)
    for test in results["tests"]:
        assert set(test) <= PL_TEST
        assert {"name", "points", "max_points", "message"} <= set(test)
        assert 0 <= test["points"] <= test["max_points"]
    dy_pred = next(t for t in results["tests"] if t["name"] == "dy_pred")
    assert "sign flipped" in dy_pred["message"]


@pytest.mark.parametrize("fmt", ["native", "gradescope", "prairielearn"])
def test_every_format_carries_the_version_and_the_dataset_hash(client: Any, fmt: str) -> None:
    body = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": COURSE_FORWARD}
    results = grade(client, {**body, "format": fmt})
    where = results["extra_data"] if fmt == "gradescope" else results
    assert where["dataset_sha256"] == client.get("/dataset").json()["sha256"]
    assert where["service_version"] == client.get("/openapi.json").json()["info"]["version"]


def test_grading_is_deterministic(client: Any) -> None:
    history, _ = students.train(TRAIN_X, TRAIN_Y, W0, 4, mistake="full_batch")
    body = {"task": "train", "case": _train_case("sgd"), "submission": {"loss_history": history}}
    first, second = client.post("/grade", json=body), client.post("/grade", json=body)
    assert first.content == second.content


def test_a_policy_given_by_the_caller_decides(client: Any) -> None:
    off = {k: v * (1 + 1e-12) for k, v in COURSE_FORWARD.items()}
    case = {"w": COURSE_W, "row": 0}
    exact = grade(client, {"task": "forward", "case": case, "submission": off, "policy": "exact"})
    assert exact["score"] == 0.0
    loose = grade(client, {"task": "forward", "case": case, "submission": off})
    assert loose["score"] == 6.0
    assert loose["policy"] == {"kind": "relabs", "decimals": 6, "rtol": 1e-10, "atol": 1e-13}
    tight = {"kind": "relabs", "rtol": 1e-13, "atol": 0.0}
    strict = grade(client, {"task": "forward", "case": case, "submission": off, "policy": tight})
    assert strict["score"] == 0.0
    rounded = grade(
        client, {"task": "forward", "case": case, "submission": off, "policy": "decimals"}
    )
    assert rounded["items"][0]["rule"] == "decimals: round(submitted, 6) == round(expected, 6)"


def test_batch_grades_each_item_in_order_and_a_malformed_one_does_not_sink_the_rest(
    client: Any,
) -> None:
    good = {"task": "forward", "case": {"w": COURSE_W, "row": 0}, "submission": COURSE_FORWARD}
    wrong = {
        "task": "backward",
        "case": POINT,
        "submission": students.backward(X, Y, W, "w9_missing"),
    }
    items = [
        good,
        {**good, "case": {"w": [0.1] * 8, "row": 0}},
        "not an object",
        wrong,
        {**good, "submission": {"exp": "1.12"}},
        {"task": "forward", "case": {"w": [50] + [0.1] * 8, "x": [20, 1, 1, 1, 1], "y": 1},
         "submission": {}},
        {**good, "format": "gradescope"},
    ]  # fmt: skip
    response = client.post("/grade/batch", json={"items": items})
    assert response.status_code == 200
    body = response.json()
    assert [r["index"] for r in body["results"]] == list(range(7))
    assert [r["gradable"] for r in body["results"]] == [
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert (body["graded"], body["not_gradable"]) == (3, 4)
    assert "case.w" in body["results"][1]["reason"]
    assert body["results"][1]["errors"][0]["loc"].endswith("case.w")
    assert "submission.exp" in body["results"][4]["reason"]
    assert "'exp'" in body["results"][5]["reason"]
    assert body["results"][0]["result"] == grade(client, good)
    assert body["results"][3]["result"] == grade(client, wrong)
    assert body["results"][6]["result"]["score"] == 6.0
    assert body["dataset_sha256"] == client.get("/dataset").json()["sha256"]


def test_batch_over_the_limit_is_refused(client: Any) -> None:
    response = client.post("/grade/batch", json={"items": [{}] * 1001})
    assert response.status_code == 422
    assert "BACKPROP_MAX_GRADE_BATCH" in response.json()["detail"]


def test_batch_train_case_over_the_limits_is_not_gradable(client: Any) -> None:
    body = {"task": "train", "case": {"epochs": 100_000}, "submission": {"loss_history": [1.0]}}
    response = client.post("/grade/batch", json={"items": [body]})
    assert response.status_code == 200
    entry = response.json()["results"][0]
    assert entry["gradable"] is False
    assert "BACKPROP_MAX_EPOCHS" in entry["reason"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**GOOD, "submission": {"exp": "1.127"}}, "submission.exp"),
        ({**GOOD, "submission": {"exponent": 1.0}}, "submission.exponent"),
        ({**GOOD, "extra": 1}, "extra"),
        ({**GOOD, "task": "sideways"}, "task"),
        ({**GOOD, "case": {"w": COURSE_W, "row": 0, "eps": 1e-7}}, "case.eps"),
        ({**GOOD, "points": {"dw1": 1}}, "unknown item(s) dw1"),
        ({**GOOD, "points": {"exp": 0}}, "points.exp"),
        ({**GOOD, "policy": {"kind": "exact", "rtol": 1e-3}}, "apply to kind 'relabs' only"),
        ({**GOOD, "format": "moodle"}, "format"),
        ({"task": "gradcheck", "case": {"w": COURSE_W, "row": 0}, "submission": {}}, "submit"),
        ({"task": "train", "case": {}, "submission": {"loss_history": []}}, "loss_history"),
    ],
)
def test_grade_rejects_malformed_requests_with_a_problem(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/grade", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_grade_rejects_non_finite_numbers_in_a_submission(client: Any, literal: str) -> None:
    text = json.dumps(GOOD).replace("1.1272967040973583", literal)
    response = client.post("/grade", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "submission.exp" in response.json()["detail"]
    assert client.get("/health").status_code == 200


def test_grade_train_case_over_the_limits_is_refused(client: Any) -> None:
    body = {"task": "train", "case": {"epochs": 100_000}, "submission": {"loss_history": [1.0]}}
    response = client.post("/grade", json=body)
    assert response.status_code == 422
    assert "BACKPROP_MAX_EPOCHS" in response.json()["detail"]


def test_a_forward_value_computed_from_wrong_upstream_values_is_said_to_follow(
    client: Any,
) -> None:
    submission = students.forward(X, Y, W)
    submission["tanh"] = 0.5  # a wrong tanh nobody anticipated, carried into y_pred
    submission["y_pred"] = 0.5 + W[8] * submission["sigmoid"]
    result = grade(client, {"task": "forward", "case": POINT, "submission": submission})
    assert item(result, "tanh")["diagnosis"] is None
    assert "none of the common mistakes" in item(result, "tanh")["message"]
    y_pred = item(result, "y_pred")
    assert y_pred["diagnosis"] == "follows_from_upstream"
    assert "your own tanh and sigmoid" in y_pred["message"]


def test_backward_gradients_right_given_a_wrong_dw7_are_said_to_follow(client: Any) -> None:
    submission = students.backward(X, Y, W)
    submission["dw7"] *= 3.0  # an unanticipated mistake in dw7 ...
    submission["dw6"] = submission["dw7"] * students.forward(X, Y, W)["exp"]  # ... carried on
    result = grade(client, {"task": "backward", "case": POINT, "submission": submission})
    assert item(result, "dw7")["diagnosis"] is None
    assert item(result, "dw6")["diagnosis"] == "follows_from_upstream"
    assert "your own dw7" in item(result, "dw6")["message"]
