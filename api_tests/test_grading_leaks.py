"""Abuse: the bisection attacks of issue 11 against /grade and /grade/batch learn nothing.

With reveal_expected false, a wrong answer that matches no known mistake gets the same answer
whatever was submitted, apart from the echo of the submission (`submitted`), in every format. So
an attacker who bisects on the feedback (the attack that recovered every hidden forward value in
61 requests, a value in 8 batch requests, and a 20-epoch loss history in 160) has nothing to
bisect on: the only signal is pass / fail at the policy's fixed tolerance band.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_tests.support.course import COURSE_FORWARD, COURSE_W

CASE = {"w": COURSE_W, "row": 0}
RTOL = 1e-10  # the forward default's band: all a pass / fail tells


def _without_echo(value: Any) -> Any:
    """The answer with the submission's echo removed (what may differ between two answers)."""
    if isinstance(value, dict):
        return {k: _without_echo(v) for k, v in value.items() if k != "submitted"}
    if isinstance(value, list):
        return [_without_echo(v) for v in value]
    return value


def _probe(client: Any, name: str, value: float, fmt: str) -> tuple[bool, str]:
    submission = {**COURSE_FORWARD, name: value}
    body = {"task": "forward", "case": CASE, "submission": submission, "format": fmt}
    response = client.post("/grade", json=body)
    assert response.status_code == 200
    result = response.json()
    assert "off by" not in response.text
    full = result["score"] == result.get("max_score", 1.0)
    return full, json.dumps(_without_echo(result), sort_keys=True)


@pytest.mark.parametrize("fmt", ["native", "gradescope", "prairielearn"])
@pytest.mark.parametrize("name", ["exp", "sigmoid"])
def test_bisecting_a_hidden_forward_value_on_grade_learns_nothing(
    client: Any, fmt: str, name: str
) -> None:
    truth = COURSE_FORWARD[name]
    lo, hi = truth - 0.37, truth + 0.61  # the attacker's bracket (it contains the answer)
    answers = set()
    for _ in range(61):
        mid = (lo + hi) / 2
        full, answer = _probe(client, name, mid, fmt)
        if full:
            break
        answers.add(answer)
        # any difference between answers would give a direction; there is none to read
        if answer == min(answers):
            lo = mid
        else:
            hi = mid
    assert len(answers) == 1  # every wrong probe got the very same answer
    assert abs((lo + hi) / 2 - truth) > RTOL * abs(truth)  # no closer than the band


def test_a_batch_of_probes_around_a_hidden_value_gets_one_answer(client: Any) -> None:
    truth = COURSE_FORWARD["tanh"]
    probes = [truth * (1 + k * 1e-3) for k in range(-500, 500) if k]  # 999 wrong values
    items = [
        {"task": "forward", "case": CASE, "submission": {**COURSE_FORWARD, "tanh": p}}
        for p in probes
    ]
    response = client.post("/grade/batch", json={"items": items})
    assert response.status_code == 200
    answers = {
        json.dumps(_without_echo(e["result"]), sort_keys=True) for e in response.json()["results"]
    }
    assert len(answers) == 1


def test_bisecting_a_hidden_loss_history_learns_nothing(client: Any) -> None:
    case = {"optimizer": "sgd", "epochs": 20, "seed": 0}
    right = client.post("/train", json=case).json()["loss_history"]
    answers = set()
    for epoch in (0, 7, 19):
        for factor in (0.5, 0.9, 0.99, 0.999, 1.001, 1.01, 1.1, 2.0):
            guess = list(right)
            guess[epoch] *= factor
            body = {"task": "train", "case": case, "submission": {"loss_history": guess}}
            for fmt in ("native", "gradescope", "prairielearn"):
                response = client.post("/grade", json={**body, "format": fmt})
                assert response.status_code == 200
                result = response.json()
                assert result["score"] < result.get("max_score", 1.0 + 1e-9)
                answers.add((fmt, json.dumps(_without_echo(result), sort_keys=True)))
    assert len(answers) == 3  # one answer per format, whichever epoch is off and by how much


def test_verdict_feedback_says_pass_or_fail_only(client: Any) -> None:
    wrong = {**COURSE_FORWARD, "dy_pred": -COURSE_FORWARD["dy_pred"]}  # a known mistake
    body = {"task": "forward", "case": CASE, "submission": wrong, "feedback": "verdict"}
    result = client.post("/grade", json=body).json()
    dy_pred = next(i for i in result["items"] if i["name"] == "dy_pred")
    assert (dy_pred["diagnosis"], dy_pred["labels"], dy_pred["error"]) == (None, [], None)
    assert dy_pred["message"] == "dy_pred is wrong."
    named = client.post("/grade", json={**body, "feedback": "diagnosis"}).json()
    assert next(i for i in named["items"] if i["name"] == "dy_pred")["labels"] == [
        "sign_flip@dy_pred"
    ]
