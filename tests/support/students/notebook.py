"""A student's notebook that works: the forward, backward and loss every other task's code calls.

Plain ``math``, the way the template is usually filled in. Gradient checks and training loops in
the corpus call these unless their own mistake is in one of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Vec = Sequence[float]

w = [0.1] * 9  # the notebook's global w, which some functions read by accident


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def forward_propagation(x: Vec, y: float, w: Vec) -> dict[str, float]:
    part1 = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    part2 = math.tanh(part1 + w[6])
    part3 = sigmoid(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    y_pred = part2 + w[8] * part3
    return {
        "exp": part1,
        "tanh": part2,
        "sigmoid": part3,
        "y_pred": y_pred,
        "loss": (y - y_pred) ** 2,
        "dy_pred": -2 * (y - y_pred),
    }


def backward_propagation(x: Vec, y: float, w: Vec, forward_dict: dict[str, float]) -> dict:
    dy = forward_dict["dy_pred"]
    s, t, e = forward_dict["sigmoid"], forward_dict["tanh"], forward_dict["exp"]
    a = w[0] * x[0] + w[1] * x[1]
    q = w[3] * x[3] + w[4] * x[4]
    ds = dy * w[8] * s * (1 - s)
    dt = dy * (1 - t**2)
    return {
        "dw1": dt * e * 2 * a * x[0],
        "dw2": dt * e * 2 * a * x[1],
        "dw3": ds * q * math.cos(w[2] * x[2]) * x[2],
        "dw4": ds * math.sin(w[2] * x[2]) * x[3],
        "dw5": ds * math.sin(w[2] * x[2]) * x[4],
        "dw6": dt * e,
        "dw7": dt,
        "dw8": ds,
        "dw9": dy * s,
    }


def loss(x: Vec, y: float, w: Vec) -> float:
    return forward_propagation(x, y, w)["loss"]


def gradients(x: Vec, y: float, w: Vec) -> list[float]:
    """dw1..dw9 from this notebook's backward, as a list."""
    return list(backward_propagation(x, y, w, forward_propagation(x, y, w)).values())
