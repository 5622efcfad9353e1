"""/grade/batch writes its answer without pydantic: the same bytes as its models, the same grades.

The batch answer is grade_formats.render_data's JSON written by orjson, its items validated in
place of the whole request where their case and options were seen before in the batch, and
right verdicts remembered across items. Oracles: the answer's own models (validating the answer
and dumping it again must give back the very bytes: the bytes pydantic wrote before), and the
same item graded alone (POST /grade, or a batch of one, where nothing is shared).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_tests.support.course import COURSE_FORWARD, COURSE_GRADIENTS, COURSE_W
from service.api.schemas.grade_results import GradeBatchResponse
from tests.support.students import corpus
from tests.support.students.scoreboard import answers, request_for

CASE = {"w": COURSE_W, "row": 0}
CS231N = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}


def _post(client: Any, path: str, body: Any) -> Any:
    """POST a body as Python writes it (NaN included)."""
    raw = json.dumps(body)
    return client.post(path, content=raw, headers={"content-type": "application/json"})


def _items() -> list[Any]:
    """The student corpus's answers under every format and option, submissions to one case that
    differ in their values, their types and their names, and malformed items."""
    base = [request_for(a.student, a.case, a.student.submission(a.case)) for a in answers(corpus())]
    points = [b for b in base if b["task"] != "train"][::3]
    out: list[Any] = [*base[::4]]
    for b in points[:40]:
        out += [
            {**b, "format": "gradescope"},
            {**b, "format": "prairielearn", "reveal_expected": True},
            {**b, "feedback": "verdict", "policy": "decimals"},
            {**b, "policy": {"kind": "relabs", "rtol": -0.0, "atol": 0.0}},
        ]
    dw3 = COURSE_GRADIENTS["dw3"]
    for value in (dw3, dw3 * 1.01, 2 * dw3, 0.0, -0.0, 1, None, True, "1", float("nan")):
        sub = {**COURSE_GRADIENTS, "dw3": value}
        out.append({"task": "backward", "case": CASE, "submission": sub})
        out.append({"task": "backward", "case": CASE, "submission": sub, "reveal_expected": True})
    out += [
        {"task": "backward", "case": CASE, "submission": {"dw9": COURSE_GRADIENTS["dw9"]}},
        {"task": "backward", "case": CASE, "submission": {**COURSE_GRADIENTS, "dw10": 1.0}},
        {"task": "backward", "case": CASE, "submission": [1.0]},
        {"task": "forward", "case": CASE, "submission": COURSE_FORWARD, "points": {"exp": 3}},
        {"task": "forward", "case": CASE, "submission": {**COURSE_FORWARD, "exp": 1.0}},
        {"task": "forward", "case": CASE, "submission": {**COURSE_FORWARD, "zz": 1.0}},
        {"task": "backward", "case": CS231N, "submission": {"dw0": 0.2, "dw1": -0.3, "dw2": 0.1}},
        {"task": "backward", "case": CS231N, "submission": {"dw1": -0.3, "dw0": 0.2}},
        {"task": "backward", "case": CS231N, "submission": {"dw0": 0.2, "zz": 1.0}},
        {"task": "backward", "case": {"w": [0.1] * 8, "row": 0}, "submission": {}},
        {"task": "nope"},
        3,
    ]
    return out


@pytest.fixture(scope="module")
def batch(client: Any) -> tuple[list[Any], bytes]:
    items = _items()
    response = _post(client, "/grade/batch", {"items": items})
    assert response.status_code == 200, response.text[:300]
    return items, response.content


def test_the_answer_is_the_bytes_its_models_write(batch: tuple[list[Any], bytes]) -> None:
    _, content = batch
    model = GradeBatchResponse.model_validate_json(content)
    assert model.model_dump_json(by_alias=True).encode() == content
    assert model.not_gradable > 5  # both kinds are in it
    assert model.graded > 200


def test_each_entry_is_the_item_graded_alone(client: Any, batch: tuple[list[Any], bytes]) -> None:
    items, content = batch
    results = json.loads(content)["results"]
    for index, (item, entry) in enumerate(zip(items, results, strict=True)):
        alone = _post(client, "/grade/batch", {"items": [item]}).json()["results"][0]
        assert {**alone, "index": index} == entry, item
        if entry["gradable"]:
            single = _post(client, "/grade", item)
            assert single.status_code == 200
            assert single.json() == entry["result"]


def test_a_right_value_remembered_is_echoed_as_given(client: Any) -> None:
    wide = {"kind": "relabs", "atol": 1.0}  # 0.0 and -0.0 both pass for dw3
    plus, minus = (
        {"task": "backward", "case": CASE, "policy": wide,
         "submission": {**COURSE_GRADIENTS, "dw3": zero}}
        for zero in (0.0, -0.0)
    )  # fmt: skip
    content = _post(client, "/grade/batch", {"items": [plus, minus, plus, minus]}).content
    dw3 = [
        next(i for i in e["result"]["items"] if i["name"] == "dw3")
        for e in json.loads(content)["results"]
    ]
    assert all(i["passed"] for i in dw3)
    assert b'"submitted":-0.0' in content
    assert [str(i["submitted"]) for i in dw3] == ["0.0", "-0.0", "0.0", "-0.0"]
