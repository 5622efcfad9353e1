"""POST /forward: the course's reference values, exactly, through HTTP and JSON."""

from __future__ import annotations

from typing import Any

import pytest

from api_tests.support.course import COURSE_FORWARD, COURSE_W, ROW0


def test_forward_on_row_0_returns_the_course_values_exactly(client: Any) -> None:
    response = client.post("/forward", json={"w": COURSE_W, "row": 0})
    assert response.status_code == 200
    assert response.json() == COURSE_FORWARD


def test_forward_on_explicit_x_y_returns_the_course_values_exactly(client: Any) -> None:
    response = client.post("/forward", json={"w": COURSE_W, **ROW0})
    assert response.status_code == 200
    assert response.json() == COURSE_FORWARD


def test_forward_accepts_integers_for_floats(client: Any) -> None:
    response = client.post("/forward", json={"w": [1] * 9, "x": [0, 0, 0, 0, 0], "y": 0})
    assert response.status_code == 200
    assert response.json()["exp"] == pytest.approx(2.718281828459045, rel=0, abs=0)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"w": [0.1] * 8, "row": 0}, "body.w"),
        ({"w": [0.1] * 10, "row": 0}, "body.w"),
        ({"w": COURSE_W, "x": [1.0] * 4, "y": 1.0}, "body.x"),
        ({"w": COURSE_W, "row": 506}, "body.row"),
        ({"w": COURSE_W, "row": -1}, "body.row"),
        ({"w": COURSE_W, "row": 0, "x": [1.0] * 5, "y": 1.0}, "not both"),
        ({"w": COURSE_W}, "give either"),
        ({"w": COURSE_W, "x": [1.0] * 5}, "give either"),
        ({"w": ["0.1"] * 9, "row": 0}, "valid number"),
        ({"w": COURSE_W, "row": "0"}, "body.row"),
        ({"w": COURSE_W, "row": 0, "extra": 1}, "body.extra"),
        ({"w": [True] * 9, "row": 0}, "body.w"),
    ],
)
def test_forward_rejects_malformed_points_with_a_problem(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/forward", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"]
    assert fragment in problem["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_forward_rejects_non_finite_json_literals_without_echoing_them(
    client: Any, literal: str
) -> None:
    body = '{"w": [' + literal + ', 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}'
    response = client.post("/forward", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "body.w.0" in response.json()["detail"]
    assert literal not in response.text


def test_forward_overflow_is_a_422_naming_the_node(client: Any) -> None:
    response = client.post("/forward", json={"w": [50] + [0.1] * 8, "x": [20, 1, 1, 1, 1], "y": 1})
    assert response.status_code == 422
    assert "'exp'" in response.json()["detail"]
    assert client.get("/health").status_code == 200
