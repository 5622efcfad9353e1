"""POST /backward: course gradients at 6 decimals, and agreement with independent oracles."""

from __future__ import annotations

import random
from typing import Any

import pytest

from api_tests.support.course import COURSE_GRADIENTS, COURSE_W
from tests.support.oracles import numerical_gradient, symbolic_gradient


def test_backward_rounds_to_the_course_gradients(client: Any) -> None:
    response = client.post("/backward", json={"w": COURSE_W, "row": 0})
    assert response.status_code == 200
    body = response.json()
    assert {k: round(v, 6) for k, v in body["gradients"].items()} == COURSE_GRADIENTS
    assert body["forward"]["loss"] == 0.9298048963072919


def _random_point(rng: random.Random) -> dict[str, Any]:
    return {
        "w": [rng.uniform(-1.0, 1.0) for _ in range(9)],
        "x": [rng.uniform(-2.0, 2.0) for _ in range(5)],
        "y": rng.uniform(-1.0, 3.0),
    }


ORACLES = {"sympy": symbolic_gradient, "central-difference": numerical_gradient}
CASES = [("sympy", seed) for seed in range(50)] + [
    ("central-difference", seed) for seed in range(50, 80)
]


@pytest.mark.parametrize(("oracle", "seed"), CASES)
def test_backward_matches_an_independent_oracle_at_random_points(
    client: Any, oracle: str, seed: int
) -> None:
    point = _random_point(random.Random(seed))
    response = client.post("/backward", json=point)
    assert response.status_code == 200
    got = list(response.json()["gradients"].values())
    expected = ORACLES[oracle](point["x"], point["y"], point["w"])
    for g, e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12)
