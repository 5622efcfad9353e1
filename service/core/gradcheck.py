"""Gradient checking by central differences, one weight at a time (SPEC §4).

Tested by api_tests/test_gradcheck.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.core.errors import NumericalOverflow
from service.core.graph import backward, forward, loss

PASS_BELOW = 1e-7
FAIL_ABOVE = 1e-3


@dataclass(frozen=True)
class GradCheck:
    """Analytic and numerical gradients side by side, with the norm-based difference."""

    analytic: tuple[float, ...]
    numerical: tuple[float, ...]
    relative_errors: tuple[float, ...]
    difference: float
    verdict: str
    eps: float


def numerical_gradient(
    x: Sequence[float], y: float, w: Sequence[float], eps: float = 1e-7
) -> tuple[float, ...]:
    """Central difference (L(w + eps e_i) - L(w - eps e_i)) / (2 eps) for each weight i."""
    grads = []
    for i in range(len(w)):
        plus, minus = list(w), list(w)
        plus[i] += eps
        minus[i] -= eps
        grads.append((loss(x, y, plus) - loss(x, y, minus)) / (2.0 * eps))
        if not math.isfinite(grads[-1]):
            raise NumericalOverflow(f"numerical dw{i + 1}")
    return tuple(grads)


def relative_difference(g: Sequence[float], n: Sequence[float]) -> float:
    """||g - n|| / (||g|| + ||n||), and 0 when both are exactly zero."""
    spread = math.hypot(*(gi - ni for gi, ni in zip(g, n, strict=True)))
    return norm_ratio(spread, math.hypot(*g) + math.hypot(*n))


def norm_ratio(spread: float, denominator: float) -> float:
    """spread / (sum of two norms): 0 when both norms are zero; overflow is NumericalOverflow."""
    if denominator == 0.0:
        return 0.0
    try:
        difference = spread / denominator
    except OverflowError:
        difference = math.inf
    if not math.isfinite(difference):
        raise NumericalOverflow("difference", "The gradient norms overflow float64.")
    return difference


def verdict(difference: float) -> str:
    """'pass' below 1e-7, 'fail' above 1e-3, 'warn' between."""
    if difference < PASS_BELOW:
        return "pass"
    if difference > FAIL_ABOVE:
        return "fail"
    return "warn"


def check_gradient(
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float = 1e-7,
    analytic: Sequence[float] | None = None,
) -> GradCheck:
    """Compare an analytic gradient (the service's own, or the one given) with the numerical one."""
    g = tuple(analytic) if analytic is not None else backward(forward(x, y, w))
    n = numerical_gradient(x, y, w, eps)
    per_weight = tuple(relative_difference([gi], [ni]) for gi, ni in zip(g, n, strict=True))
    difference = relative_difference(g, n)
    return GradCheck(g, n, per_weight, difference, verdict(difference), eps)
