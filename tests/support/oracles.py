"""Independent oracles for the graph: a sympy derivative and a high-precision numerical one.

Neither reuses the service's code: the graph is written again from SPEC §1 as one expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import mpmath
import sympy

W = sympy.symbols("w1:10")
F = sympy.symbols("f1:6")
Y = sympy.Symbol("y")


def _loss_expression() -> Any:
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = W
    f1, f2, f3, f4, f5 = F
    a = w1 * f1 + w2 * f2
    tanh = sympy.tanh(sympy.exp(a**2 + w6) + w7)
    sigmoid = 1 / (1 + sympy.exp(-(sympy.sin(w3 * f3) * (w4 * f4 + w5 * f5) + w8)))
    return (Y - (tanh + w9 * sigmoid)) ** 2


@lru_cache(maxsize=1)
def _compiled() -> tuple[Any, Any]:
    loss = _loss_expression()
    gradient = [sympy.diff(loss, wi) for wi in W]
    args = (*W, *F, Y)
    return sympy.lambdify(args, loss, "mpmath"), sympy.lambdify(args, gradient, "mpmath")


def symbolic_gradient(x: Sequence[float], y: float, w: Sequence[float]) -> list[float]:
    """dL/dw from sympy's differentiation, evaluated with 50-digit mpmath."""
    _, gradient = _compiled()
    with mpmath.workdps(50):
        return [float(g) for g in gradient(*w, *x, y)]


def symbolic_loss(x: Sequence[float], y: float, w: Sequence[float]) -> float:
    """The loss from the same expression, at 50 digits."""
    loss, _ = _compiled()
    with mpmath.workdps(50):
        return float(loss(*w, *x, y))


def numerical_gradient(
    x: Sequence[float], y: float, w: Sequence[float], eps: float = 1e-20
) -> list[float]:
    """Central differences at 60 digits, so the step can be tiny without cancellation."""
    loss, _ = _compiled()
    grads = []
    with mpmath.workdps(60):
        for i in range(9):
            plus = [mpmath.mpf(v) for v in w]
            minus = list(plus)
            plus[i] += eps
            minus[i] -= eps
            grads.append(float((loss(*plus, *x, y) - loss(*minus, *x, y)) / (2 * eps)))
    return grads
