"""The compiled wrong versions of the course's training loop (numba, releases the GIL).

One loop, the course's per-sample training (SPEC §5), with a mutation site at every place a
student's loop goes wrong, chosen by integer codes (``GRADIENT``, ``UPDATE``, ``STATE``): the
gradient it trains on (the backward's mistakes carried into training), the update rule (each
optimizer's variants), the optimizer state's handling (reset each epoch), one update per epoch
(full batch), and updates applied to the neighbouring weight. Every run records the six ways
students book an epoch's loss at once (``LOSSES``), since they do not change the trajectory.

The right gradient is the training kernel's own (``kernel._gradient``: graph.forward then
graph.backward); the mutated gradients change its dw3 line, or take the backward at the global w.

(Over 250 lines: one loop with every site of its wrong versions, which must stay one compiled
function.)

Tested by tests/core/grading/test_train_mistakes.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from numba import njit

from service.core.training.kernel import _gradient


def _njit(**options: Any) -> Callable[[Any], Any]:
    """numba.njit cached on disk when a folder is writable, else compiled in memory (as the
    training kernel's `jit`: a read-only install has no cache locator)."""

    def decorate(fn: Any) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(nogil=True, **options)(fn)

    return decorate


# what a run's loss rows hold, per epoch
LOSSES = ("mean", "sum", "last_row", "wrong_vector", "after_updates", "not_reset", "after_epoch")
GRADIENT = {"right": 0, "abs_cos": 1, "sin_no_f3": 2, "global_w": 3}
OPTIMIZER = {"sgd": 0, "momentum": 1, "adam": 2}
UPDATE = {
    "course": 0,
    "ascent": 1,  # sgd: w += lr*g
    "torch": 2,  # momentum: b = beta*b + g; w -= lr*b
    "cs231n": 3,  # momentum: v = mu*v - lr*g; w += v
    "not_updated": 4,  # momentum: m_new used, m stays 0
    "per_row": 5,  # momentum: one buffer per row
    "first_gradient": 6,  # momentum: m starts at the first gradient
    "shared": 7,  # momentum: one scalar buffer across the weights
    "previous_gradient": 8,  # momentum: the previous raw gradient as the velocity
    "bias_correction": 9,  # adam: torch's, t per update
    "constants": 10,  # adam: m/(1-b1), v/(1-b2)
    "t_epoch": 11,  # adam: bias correction with t = epoch + 1
    "t_row": 12,  # adam: t = row + 1
    "t_weight": 13,  # adam: t = weight index + 1
    "eps_inside": 14,  # adam: sqrt(v + eps)
    "v_not_squared": 15,  # adam: v of g, sqrt(|v|)
    "eps_outside": 16,  # adam: lr*m/sqrt(v) + eps
}
GLOBAL_W = np.full(9, 0.1)


@_njit(inline="always")
def _mutated_gradient(X: Any, y: Any, i: int, w: Any, g: Any, mode: int) -> float:
    """The right gradient (the training kernel's), then the mode's wrong line(s)."""
    loss = _gradient(X, y, i, w, g)
    if mode == 0 or loss != loss:
        return loss
    f1, f2, f3, f4, f5 = X[i, 0], X[i, 1], X[i, 2], X[i, 3], X[i, 4]
    if mode == 1 or mode == 2:
        q = w[3] * f4 + w[4] * f5
        if mode == 1:
            g[2] = g[7] * q * abs(math.cos(w[2] * f3) * f3)
        else:
            g[2] = g[7] * q * math.sin(w[2] * f3)
        return loss
    # the global w in the backward: the forward's values at w, the global w's a, q, w3, w9
    a = w[0] * f1 + w[1] * f2
    e = math.exp(a * a + w[5])
    t = math.tanh(e + w[6])
    q = w[3] * f4 + w[4] * f5
    s = 1.0 / (1.0 + math.exp(-(math.sin(w[2] * f3) * q + w[7])))
    dy = -2.0 * (y[i] - (t + w[8] * s))
    gw = 0.1
    ga = gw * f1 + gw * f2
    gq = gw * f4 + gw * f5
    ds = dy * gw * s * (1 - s)
    dt = dy * (1 - t**2)
    g[0] = dt * e * 2 * ga * f1
    g[1] = dt * e * 2 * ga * f2
    g[2] = ds * gq * math.cos(gw * f3) * f3
    g[3] = ds * math.sin(gw * f3) * f4
    g[4] = ds * math.sin(gw * f3) * f5
    g[5] = dt * e
    g[6] = dt
    g[7] = ds
    g[8] = dy * s
    return loss


@_njit(inline="always")
def _loss_at(X: Any, y: Any, i: int, w: Any, scratch: Any) -> float:
    return _gradient(X, y, i, w, scratch)


@_njit(error_model="numpy")
def run_variant(
    X: Any,
    y: Any,
    w0: Any,
    orders: Any,  # (epochs, n) row order of each epoch, or (1, n): the same order every epoch
    optimizer: int,
    hyper: Any,  # lr, beta (or beta1), beta2, eps
    gradient_mode: int,
    update: int,
    reset_each_epoch: bool,
    full_batch: bool,
    neighbour: bool,
    after_updates: bool,
    losses: Any,  # (7, epochs) out: LOSSES
    w_out: Any,  # (9,) out
) -> int:
    """Train one wrong version; the epochs completed (fewer when a value turns non-finite)."""
    n = orders.shape[1]
    epochs = losses.shape[1]
    lr, b1, b2, eps = hyper[0], hyper[1], hyper[2], hyper[3]
    w = w0.copy()
    g = np.zeros(9)
    gsum = np.zeros(9)
    scratch = np.zeros(9)
    m = np.zeros(9)
    v = np.zeros(9)
    prev = np.zeros(9)
    rows_m = np.zeros((n, 9))
    shared = 0.0
    t = 0
    cumulative = 0.0
    for epoch in range(epochs):
        if reset_each_epoch:
            m[:] = 0.0
            v[:] = 0.0
        total = 0.0
        wrong_vector = 0.0
        after = 0.0
        last = 0.0
        gsum[:] = 0.0
        order = orders[epoch] if orders.shape[0] > 1 else orders[0]
        for k in range(n):
            i = order[k]
            loss = _mutated_gradient(X, y, i, w, g, gradient_mode)
            if loss != loss:
                w_out[:] = w
                return epoch
            total += loss
            cumulative += loss
            wrong_vector += (y[i] - loss) ** 2
            last = loss
            if full_batch:
                for j in range(9):
                    gsum[j] += g[j]
                continue
            if neighbour:
                for j in range(9):
                    scratch[j] = g[j - 1] if j > 0 else g[8]
                g[:] = scratch
            t += 1
            _step(optimizer, update, lr, b1, b2, eps, t, epoch, k, g, w, m, v, prev, rows_m, i)
            if update == 7:
                for j in range(9):
                    shared = b1 * shared + (1.0 - b1) * g[j]
                    w[j] -= lr * shared
            if after_updates:
                after += _loss_at(X, y, i, w, scratch)
        if full_batch:
            for j in range(9):
                w[j] -= lr * (gsum[j] / n)
        losses[0, epoch] = total / n
        losses[1, epoch] = total / n * n
        losses[2, epoch] = last
        losses[3, epoch] = wrong_vector / n
        losses[4, epoch] = after / n
        losses[5, epoch] = cumulative / n
        if after_updates:  # the dataset's mean loss at the end-of-epoch weights
            at_end = 0.0
            for i in range(n):
                at_end += _loss_at(X, y, i, w, scratch)
            losses[6, epoch] = at_end / n
        for j in range(9):
            if w[j] - w[j] != 0.0:
                w_out[:] = w
                return epoch + 1
    w_out[:] = w
    done: int = epochs
    return done


@_njit(error_model="numpy", inline="always")
def _step(
    optimizer: int,
    update: int,
    lr: float,
    b1: float,
    b2: float,
    eps: float,
    t: int,
    epoch: int,
    row: int,
    g: Any,
    w: Any,
    m: Any,
    v: Any,
    prev: Any,
    rows_m: Any,
    i: int,
) -> None:
    """One update of the optimizer, in the course's form or one of its wrong versions."""
    if optimizer == 0:
        for j in range(9):
            w[j] = w[j] + lr * g[j] if update == 1 else w[j] - lr * g[j]
        return
    if optimizer == 1:
        for j in range(9):
            if update == 0:
                m[j] = b1 * m[j] + (1 - b1) * g[j]
                w[j] = w[j] - lr * m[j]
            elif update == 2:
                m[j] = b1 * m[j] + g[j]
                w[j] = w[j] - lr * m[j]
            elif update == 3:
                m[j] = b1 * m[j] - lr * g[j]
                w[j] = w[j] + m[j]
            elif update == 4:
                w[j] = w[j] - lr * (b1 * m[j] + (1 - b1) * g[j])
            elif update == 5:
                rows_m[i, j] = b1 * rows_m[i, j] + (1 - b1) * g[j]
                w[j] = w[j] - lr * rows_m[i, j]
            elif update == 6:
                m[j] = g[j] if t == 1 else b1 * m[j] + (1 - b1) * g[j]
                w[j] = w[j] - lr * m[j]
            elif update == 8:
                step = b1 * prev[j] + (1 - b1) * g[j]
                prev[j] = g[j]
                w[j] = w[j] - lr * step
        return
    for j in range(9):
        if update == 15:
            m[j] = b1 * m[j] + (1 - b1) * g[j]
            v[j] = b2 * v[j] + (1 - b2) * g[j]
            w[j] = w[j] - lr * m[j] / (math.sqrt(abs(v[j])) + eps)
            continue
        m[j] = b1 * m[j] + (1 - b1) * g[j]
        v[j] = b2 * v[j] + (1 - b2) * g[j] ** 2
        if update == 0:
            w[j] = w[j] - lr * m[j] / (math.sqrt(v[j]) + eps)
        elif update == 14:
            w[j] = w[j] - lr * m[j] / math.sqrt(v[j] + eps)
        elif update == 16:
            w[j] = w[j] - (lr * m[j] / math.sqrt(v[j]) + eps)
        elif update == 10:
            w[j] = w[j] - lr * (m[j] / (1 - b1)) / (math.sqrt(v[j] / (1 - b2)) + eps)
        else:
            k = float(t)
            if update == 11:
                k = float(epoch + 1)
            elif update == 12:
                k = float(row + 1)
            elif update == 13:
                k = float(j + 1)
            m_hat = m[j] / (1 - b1**k)
            v_hat = v[j] / (1 - b2**k)
            w[j] = w[j] - lr * m_hat / (math.sqrt(v_hat) + eps)


@cache
def compiled() -> Any:
    """run_variant, compiled (or loaded from numba's cache) on first use: `warm` makes that use."""
    return run_variant


def warm() -> None:
    """Compile the wrong-version loop (or load it from the cache) on a tiny run: start-up calls
    this so that no grade pays the compilation (~10 s cold)."""
    X, y = np.zeros((2, 5)), np.zeros(2)
    orders = np.zeros((1, 2), dtype=np.int64)
    for optimizer in range(3):
        compiled()(X, y, np.full(9, 0.1), orders, optimizer, np.array([1e-3, 0.9, 0.999, 1e-8]),
                   0, 0, False, False, False, True, np.zeros((7, 1)), np.zeros(9))  # fmt: skip
