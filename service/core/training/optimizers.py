"""Optimizers as pure (init, update) pairs, in the style of optax.

Contract shared by every optimizer here: ``init(params) -> state`` and ``update(grads, state,
params) -> (new_params, new_state)``, all arrays of shape (9,) float64, inputs never mutated; each
state is a NamedTuple. Hyperparameters are captured when the optimizer is built. ``t`` counts
updates and is incremented before use. These readable versions are the reference the compiled kernel
is tested against: the kernel performs the same operations in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class SgdState(NamedTuple):
    """sgd: the update count and torch's momentum buffer b."""

    t: int
    b: np.ndarray


class MomentumState(NamedTuple):
    """The course's momentum: the moving average m of the gradients."""

    m: np.ndarray


class AdamState(NamedTuple):
    """adam and adamw: the update count, the moments m and v, and amsgrad's running max of v."""

    t: int
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


class RmspropState(NamedTuple):
    """rmsprop: the average of squares, centered's average of g, and the momentum buffer."""

    sq: np.ndarray
    g_avg: np.ndarray
    buf: np.ndarray


class AdagradState(NamedTuple):
    """adagrad: the update count and the running sum of squares."""

    t: int
    total: np.ndarray


State = SgdState | MomentumState | AdamState | RmspropState | AdagradState


class Optimizer(NamedTuple):
    """An optimizer: how to make its state and how to take one step."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]


def _zeros(params: np.ndarray) -> np.ndarray:
    return np.zeros_like(params)


def sgd(
    learning_rate: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    """torch.optim.SGD; with the defaults, the course's vanilla w -= lr * g."""

    def init(params: np.ndarray) -> SgdState:
        return SgdState(0, _zeros(params))

    def update(g: np.ndarray, state: SgdState, w: np.ndarray) -> tuple[np.ndarray, SgdState]:
        t, b = state
        t += 1
        if weight_decay != 0.0:
            g = g + weight_decay * w
        if momentum != 0.0:
            b = g.copy() if t == 1 else momentum * b + (1.0 - dampening) * g
            g = g + momentum * b if nesterov else b
        return w - learning_rate * g, SgdState(t, b)

    return Optimizer(init, update)


def momentum(learning_rate: float, beta: float) -> Optimizer:
    """The course's momentum: an exponential moving average of gradients, m = b*m + (1-b)*g."""

    def init(params: np.ndarray) -> MomentumState:
        return MomentumState(_zeros(params))

    def update(
        g: np.ndarray, state: MomentumState, w: np.ndarray
    ) -> tuple[np.ndarray, MomentumState]:
        m = beta * state.m + (1.0 - beta) * g
        return w - learning_rate * m, MomentumState(m)

    return Optimizer(init, update)


def adam(
    learning_rate: float,
    beta1: float,
    beta2: float,
    eps: float,
    bias_correction: bool = False,
    amsgrad: bool = False,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> Optimizer:
    """Adam: the course's form without bias correction; torch's Adam (or AdamW) with it."""

    def init(params: np.ndarray) -> AdamState:
        return AdamState(0, _zeros(params), _zeros(params), _zeros(params))

    def update(g: np.ndarray, state: AdamState, w: np.ndarray) -> tuple[np.ndarray, AdamState]:
        t, m, v, v_max = state
        t += 1
        if weight_decay != 0.0:
            if decoupled:
                w = w * (1.0 - learning_rate * weight_decay)  # AdamW: shrink w, not g
            else:
                g = g + weight_decay * w
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * (g * g)
        if amsgrad:
            v_max = np.maximum(v_max, v)
        v_used = v_max if amsgrad else v
        if bias_correction:  # divide m by 1-b1^t and v by 1-b2^t, as torch arranges it
            step_size = learning_rate / (1.0 - beta1**t)
            denom = np.sqrt(v_used) / np.sqrt(1.0 - beta2**t) + eps
            return w - step_size * (m / denom), AdamState(t, m, v, v_max)
        return w - learning_rate * m / (np.sqrt(v_used) + eps), AdamState(t, m, v, v_max)

    return Optimizer(init, update)


def adamw(
    learning_rate: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool = False,
) -> Optimizer:
    """torch.optim.AdamW: bias-corrected Adam with decoupled weight decay."""
    return adam(learning_rate, beta1, beta2, eps, True, amsgrad, weight_decay, decoupled=True)


def rmsprop(
    learning_rate: float,
    alpha: float,
    eps: float,
    momentum: float = 0.0,
    centered: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    """torch.optim.RMSprop."""

    def init(params: np.ndarray) -> RmspropState:
        return RmspropState(_zeros(params), _zeros(params), _zeros(params))

    def update(
        g: np.ndarray, state: RmspropState, w: np.ndarray
    ) -> tuple[np.ndarray, RmspropState]:
        sq, g_avg, buf = state
        if weight_decay != 0.0:
            g = g + weight_decay * w
        sq = alpha * sq + (1.0 - alpha) * (g * g)
        if centered:
            g_avg = alpha * g_avg + (1.0 - alpha) * g
            avg = np.sqrt(sq - g_avg * g_avg) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0.0:
            buf = momentum * buf + g / avg
            return w - learning_rate * buf, RmspropState(sq, g_avg, buf)
        return w - learning_rate * (g / avg), RmspropState(sq, g_avg, buf)

    return Optimizer(init, update)


def adagrad(
    learning_rate: float,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    initial_accumulator_value: float = 0.0,
    weight_decay: float = 0.0,
) -> Optimizer:
    """torch.optim.Adagrad."""

    def init(params: np.ndarray) -> AdagradState:
        return AdagradState(0, np.full_like(params, initial_accumulator_value))

    def update(
        g: np.ndarray, state: AdagradState, w: np.ndarray
    ) -> tuple[np.ndarray, AdagradState]:
        t, total = state
        t += 1
        if weight_decay != 0.0:
            g = g + weight_decay * w
        clr = learning_rate / (1.0 + (t - 1) * lr_decay)
        total = total + g * g
        return w - clr * (g / (np.sqrt(total) + eps)), AdagradState(t, total)

    return Optimizer(init, update)
