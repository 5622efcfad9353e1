"""Gradient checks for any graph: the norm formula, and `kink` at relu/abs kinks within eps."""

from __future__ import annotations

import math

from service.core.graphs.definition import define
from service.core.graphs.gradcheck import check, is_kink

ABS = define(
    {
        "inputs": ["x"],
        "weights": ["a", "b"],
        "nodes": {"y_pred": "abs(a - x) + sin(b)"},
        "loss": "y_pred",
    }
)


def test_a_kink_within_eps_is_flagged_and_left_out() -> None:
    result = check(ABS, [0.3], 0.0, [0.3 + 3e-8, 1.0], eps=1e-7)  # |a - x| kinks 3e-8 away
    a, b = result.weights
    assert a.kink
    assert not b.kink
    assert math.isclose(a.forward_difference, 1.0, rel_tol=1e-6)
    assert -1.0 < a.backward_difference < 1.0  # straddles the kink
    assert math.isclose(b.numerical, math.cos(1.0), rel_tol=1e-8)
    assert result.verdict == "kink"
    assert result.difference < 1e-7


def test_smooth_points_pass_and_a_wrong_gradient_fails() -> None:
    right = check(ABS, [0.3], 0.0, [1.0, 1.0])
    assert right.verdict == "pass"
    assert not any(r.kink for r in right.weights)
    assert [r.analytic for r in right.weights] == [1.0, math.cos(1.0)]
    wrong = check(ABS, [0.3], 0.0, [1.0, 1.0], analytic=[1.0, -math.cos(1.0)])
    assert wrong.verdict == "fail"


def test_curvature_is_not_a_kink() -> None:
    # x**2 at 0: one-sided slopes +-eps, gap 2 eps, far below KINK_ABSOLUTE
    assert not is_kink(1e-7, -1e-7)
    assert is_kink(1.0, 0.0)
    assert is_kink(1.0, -1.0)
    assert not is_kink(1.0, 1.0 + 1e-9)
