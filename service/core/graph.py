"""The course's computational graph: staged forward pass and its backward pass (SPEC §1).

Shapes: x is 5 floats (f1..f5), w is 9 floats (w1..w9), y a float. Plain ``math`` on Python
floats: this is what reproduces the course's numbers bit-for-bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from service.core.errors import NumericalOverflow

GRADIENT_NAMES = tuple(f"dw{i}" for i in range(1, 10))
FORWARD_NAMES = ("exp", "tanh", "sigmoid", "y_pred", "loss", "dy_pred")


class Cache(NamedTuple):
    """Every forward stage, kept for the backward pass."""

    x: tuple[float, ...]
    y: float
    w: tuple[float, ...]
    a: float
    exp: float
    tanh: float
    q: float
    sin: float
    sigmoid: float
    y_pred: float
    loss: float
    dy_pred: float

    def values(self) -> dict[str, float]:
        """The six public forward values, keyed as the course names them."""
        return {name: getattr(self, name) for name in FORWARD_NAMES}


def exp(z: float) -> float:
    """e^z with C semantics: +inf on overflow instead of Python's OverflowError."""
    try:
        return math.exp(z)
    except OverflowError:
        return math.inf


def sigmoid(z: float) -> float:
    """σ(z) = 1 / (1 + e^-z); saturates to 0 for very negative z."""
    return 1.0 / (1.0 + exp(-z))


def _check(node: str, value: float) -> float:
    if not math.isfinite(value):
        raise NumericalOverflow(node)
    return value


def forward(x: Sequence[float], y: float, w: Sequence[float]) -> Cache:
    """Run the graph on one sample; raise NumericalOverflow naming the first non-finite node."""
    x, w = tuple(map(float, x)), tuple(map(float, w))
    f1, f2, f3, f4, f5 = x
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w
    a = _check("a", w1 * f1 + w2 * f2)  # part 1
    z = _check("a*a + w6", a * a + w6)
    e = _check("exp", exp(z))
    tanh = math.tanh(e + w7)  # part 2
    q = _check("q", w4 * f4 + w5 * f5)  # part 3
    sin = math.sin(_check("w3*f3", w3 * f3))
    sig = sigmoid(_check("sin(w3*f3)*q + w8", sin * q + w8))
    y_pred = _check("y_pred", tanh + w9 * sig)  # output
    diff = y - y_pred
    loss = _check("loss", diff * diff)
    dy_pred = -2.0 * diff
    return Cache(x, float(y), w, a, e, tanh, q, sin, sig, y_pred, loss, dy_pred)


def backward(c: Cache) -> tuple[float, ...]:
    """Chain rule from dL/dy_pred back to dw1..dw9, one line per stage."""
    f1, f2, f3, f4, f5 = c.x
    w3, w9 = c.w[2], c.w[8]
    dw9 = c.dy_pred * c.sigmoid  # y_pred = tanh + w9*sigmoid
    ds = c.dy_pred * w9 * c.sigmoid * (1.0 - c.sigmoid)  # sigmoid: σ' = σ(1-σ)
    dw8 = ds
    dw3 = ds * c.q * math.cos(w3 * f3) * f3  # sin(w3*f3): derivative cos(w3*f3)*f3
    dw4 = ds * c.sin * f4  # q = w4*f4 + w5*f5
    dw5 = ds * c.sin * f5
    dt = c.dy_pred * (1.0 - c.tanh * c.tanh)  # tanh: 1 - tanh^2
    dw7 = dt
    dw6 = dt * c.exp  # exp: its own derivative
    dw1 = dw6 * 2.0 * c.a * f1  # a*a: 2a, then a = w1*f1 + w2*f2
    dw2 = dw6 * 2.0 * c.a * f2
    grads = (dw1, dw2, dw3, dw4, dw5, dw6, dw7, dw8, dw9)
    for name, g in zip(GRADIENT_NAMES, grads, strict=True):
        _check(name, g)
    return grads


def loss(x: Sequence[float], y: float, w: Sequence[float]) -> float:
    """The squared error alone."""
    return forward(x, y, w).loss
