"""A student's code from SPEC §1 and §5, in plain math and numpy, with common mistakes as switches.

Independent of the service: the grading tests build wrong submissions with it and check that the
service names the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Row = Sequence[float]


def forward(x: Row, y: float, w: Row, mistake: str | None = None) -> dict[str, float]:
    """The six forward values, or what a given mistake makes of them."""
    f1, f2, f3, f4, f5 = x
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w
    a = w1 * f1 + w2 * f2
    exp = math.exp(a * a + (0.0 if mistake == "w6_left_out" else w6))
    tanh = math.tanh(exp + (0.0 if mistake == "w7_left_out" else w7))
    sigmoid = 1.0 / (1.0 + math.exp(-(math.sin(w3 * f3) * (w4 * f4 + w5 * f5) + w8)))
    y_pred = w9 * tanh + sigmoid if mistake == "w9_on_tanh" else tanh + w9 * sigmoid
    loss = y - y_pred if mistake == "loss_not_squared" else (y - y_pred) ** 2
    dy_pred = 2 * (y - y_pred) if mistake == "dy_pred_sign_flipped" else -2 * (y - y_pred)
    return {
        "exp": exp,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "y_pred": y_pred,
        "loss": loss,
        "dy_pred": dy_pred,
    }


def backward(x: Row, y: float, w: Row, mistake: str | None = None) -> dict[str, float]:
    """dw1..dw9 by hand, or what a given mistake makes of them."""
    f1, f2, f3, f4, f5 = x
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w
    v = forward(x, y, w)
    a, q, s, t = w1 * f1 + w2 * f2, w4 * f4 + w5 * f5, v["sigmoid"], v["tanh"]
    d = v["dy_pred"]
    dtanh = {"tanh_derivative_one_minus_tanh": 1 - t, "tanh_derivative_like_sigmoid": t * (1 - t)}
    dt = d * dtanh.get(mistake or "", 1 - t**2)
    upstream = d if mistake == "w9_missing" else d * w9
    ds = upstream * (s if mistake == "sigmoid_derivative_sigmoid" else s * (1 - s))
    dsin = {"dw3_sin_for_cos": math.sin(w3 * f3), "dw3_missing_f3": math.cos(w3 * f3)}
    two = 1.0 if mistake == "square_missing_2" else 2.0
    g4, g5 = (f5, f4) if mistake == "f4_f5_swapped" else (f4, f5)
    grads = {
        "dw1": dt * v["exp"] * two * a * f1,
        "dw2": dt * v["exp"] * two * a * f2,
        "dw3": ds * q * dsin.get(mistake or "", math.cos(w3 * f3) * f3),
        "dw4": ds * math.sin(w3 * f3) * g4,
        "dw5": ds * math.sin(w3 * f3) * g5,
        "dw6": dt * v["exp"],
        "dw7": dt,
        "dw8": ds,
        "dw9": d * s,
    }
    sign = -1.0 if mistake == "sign_flipped" else 1.0
    return {k: sign * g for k, g in grads.items()}


def loss(x: Row, y: float, w: Row) -> float:
    """The squared error."""
    return forward(x, y, w)["loss"]


def train(
    X: np.ndarray,
    Y: np.ndarray,
    w0: Sequence[float],
    epochs: int,
    optimizer: str = "sgd",
    lr: float = 0.001,
    mistake: str | None = None,
) -> tuple[list[float], list[float]]:
    """The course's per-sample loop (loss history, final weights), or a given mistake of it."""
    w, m, v, t = np.array(w0, dtype=float), np.zeros(9), np.zeros(9), 0
    history = []

    def step(g: np.ndarray) -> None:
        nonlocal w, m, v, t
        t += 1
        if optimizer == "sgd":
            w = w - lr * g
        elif optimizer == "momentum" and mistake == "torch_momentum":
            m = g.copy() if t == 1 else 0.9 * m + g
            w = w - lr * m
        elif optimizer == "momentum":
            m = 0.9 * m + 0.1 * g
            w = w - lr * m
        else:
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            if mistake == "adam_bias_correction_flipped":
                w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            else:
                w = w - lr * m / (np.sqrt(v) + 1e-8)

    for _ in range(epochs):
        if mistake == "full_batch":
            history.append(float(np.mean([loss(x, y, w) for x, y in zip(X, Y, strict=True)])))
            step(np.mean([list(backward(x, y, w).values()) for x, y in zip(X, Y, strict=True)], 0))
            continue
        losses = []
        for x, y in zip(X, Y, strict=True):
            losses.append(loss(x, y, w))
            step(np.array(list(backward(x, y, w).values())))
        if mistake == "loss_after_updates":
            losses = [loss(x, y, w) for x, y in zip(X, Y, strict=True)]
        history.append(float(np.mean(losses)))
    return history, w.tolist()
