"""The course's computational graph: staged forward pass and its backward pass (SPEC §1).

Shapes: x is 5 floats (f1..f5), w is 9 floats (w1..w9), y a float. Plain ``math`` on Python
floats: this is what reproduces the course's numbers bit-for-bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


class Adjoints(NamedTuple):
    """dL/d(stage) for every stage of the backward pass, and the weights' gradients dw1..dw9."""

    y_pred: float
    sigmoid: float
    sigmoid_in: float  # dL/d(sin*q + w8)
    sin: float
    q: float
    tanh: float
    tanh_in: float  # dL/d(exp + w7)
    exp: float
    exp_in: float  # dL/d(a*a + w6)
    a: float
    weights: tuple[float, ...]


def adjoints(
    c: Cache,
    local: Mapping[str, float] | None = None,
    given: Mapping[str, float] | None = None,
) -> Adjoints:
    """The chain rule from dL/dy_pred back to dw1..dw9, one line per stage.

    `local` replaces a stage's local derivative ("w9", "sigmoid", "sin", "tanh" or "square":
    d(w9*sigmoid)/dsigmoid, σ(1-σ), cos(w3*f3), 1 - tanh^2, 2a) and `given` a stage's
    upstream gradient (a field of Adjoints): the wrong versions the grader compares with. Without
    them this is the backward pass, and every product is evaluated left to right as written.
    """
    f1, f2, f3, f4, f5 = c.x
    w3, w9 = c.w[2], c.w[8]
    local, given = local or {}, given or {}
    dy_pred = c.dy_pred
    dw9 = dy_pred * c.sigmoid  # y_pred = tanh + w9*sigmoid
    dsigmoid = given.get("sigmoid", dy_pred * local.get("w9", w9))
    sig_local = local.get("sigmoid")  # sigmoid: σ' = σ(1-σ)
    ds = dsigmoid * c.sigmoid * (1.0 - c.sigmoid) if sig_local is None else dsigmoid * sig_local
    ds = given.get("sigmoid_in", ds)
    dsin = ds * c.q  # sin*q + w8
    dq = ds * c.sin
    dw3 = dsin * local.get("sin", math.cos(w3 * f3)) * f3  # sin(w3*f3): cos(w3*f3)*f3
    dw4 = dq * f4  # q = w4*f4 + w5*f5
    dw5 = dq * f5
    dtanh = given.get("tanh", dy_pred)
    dt = dtanh * local.get("tanh", 1.0 - c.tanh * c.tanh)  # tanh: 1 - tanh^2
    dt = given.get("tanh_in", dt)
    dexp = dt  # exp + w7
    dz = given.get("exp_in", dexp * c.exp)  # exp: its own derivative
    square = local.get("square")
    da = dz * 2.0 * c.a if square is None else dz * square  # a*a: 2a
    dw1 = da * f1  # a = w1*f1 + w2*f2
    dw2 = da * f2
    weights = (dw1, dw2, dw3, dw4, dw5, dz, dt, ds, dw9)  # dw6 = dz, dw7 = dt, dw8 = ds
    return Adjoints(dy_pred, dsigmoid, ds, dsin, dq, dtanh, dt, dexp, dz, da, weights)


def backward(c: Cache) -> tuple[float, ...]:
    """dw1..dw9 by the chain rule (`adjoints`); NumericalOverflow naming a non-finite one."""
    grads = adjoints(c).weights
    for name, g in zip(GRADIENT_NAMES, grads, strict=True):
        _check(name, g)
    return grads


def loss(x: Sequence[float], y: float, w: Sequence[float]) -> float:
    """The squared error alone."""
    return forward(x, y, w).loss
