"""Wrong versions of the course's training (SPEC §5), to say why a submitted run differs.

Two kinds. Some are another configuration of the same per-sample loop (Adam with the bias correction
flipped; torch's momentum form ``b = beta*b + g; w -= lr*b``, which cs231n's ``v = mu*v - lr*g; w +=
v`` equals): ``config_variants`` returns those configurations, for the grader's trainer to train as
it trains any run. Others need a different loop: the epoch's loss taken after the updates, and full-
batch gradient descent: ``loop_variants`` runs those here, in plain Python on the core's graph and
optimizers, only for runs of at most ``LOOP_MAX_STEPS`` row visits.

Tested by tests/core/grading/test_policy.py and api_tests/test_grading.py.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from service.core.errors import NumericalOverflow
from service.core.grading.policy import Variant
from service.core.graph import backward, forward, loss
from service.core.training.loop import TrainConfig, TrainResult, inputs, orders
from service.core.training.optimizers import Optimizer
from service.core.training.registry import resolve

LOOP_MAX_STEPS = 200_000

LOSS_AFTER_EPOCH = (
    "the epoch's loss taken after its updates, over the whole dataset with the end-of-epoch "
    "weights; the course averages the per-row losses of the forward passes, before each update"
)
LOSS_AFTER_UPDATE = (
    "each row's loss taken after its own update; the course averages the per-row losses of the "
    "forward passes, before each update"
)
FULL_BATCH = (
    "full-batch training: one update per epoch with the mean gradient over all rows; the course "
    "updates after every row (per-sample)"
)


def as_variant(name: str, explanation: str, result: TrainResult) -> Variant:
    """The items of a training run, as a wrong version of the expected one."""
    values = {"loss_history": result.loss_history, "final_weights": result.final_weights}
    return Variant(name, explanation, values)


def config_variants(config: TrainConfig) -> list[tuple[str, str, TrainConfig]]:
    """Wrong versions that are just another configuration: (id, explanation, configuration)."""
    hyper, clipping = config.optimizer.hyper, config.optimizer.clipping  # kept by each variant
    if config.optimizer.name == "adam":
        corrected = bool(hyper["bias_correction"])
        explanation = (
            "Adam without bias correction, but this run divides m by 1 - beta1^t and v by "
            "1 - beta2^t (as torch.optim.Adam does)"
            if corrected
            else "Adam with bias correction (m / (1 - beta1^t), v / (1 - beta2^t), as "
            "torch.optim.Adam does), but the course's Adam has none"
        )
        flipped = replace(
            config, optimizer=resolve("adam", {**hyper, "bias_correction": not corrected}, clipping)
        )
        return [("adam_bias_correction_flipped", explanation, flipped)]
    if config.optimizer.name == "momentum":
        torch_form = replace(
            config,
            optimizer=resolve(
                "sgd",
                {"learning_rate": hyper["learning_rate"], "momentum": hyper["beta"]},
                clipping,
            ),
        )
        explanation = (
            "torch's momentum b = beta*b + g; w -= lr*b (cs231n's v = beta*v - lr*g; w += v is "
            "the same), but the course's momentum is an average: m = beta*m + (1-beta)*g; "
            "w -= lr*m"
        )
        return [("torch_momentum", explanation, torch_form)]
    return []


def _mean_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    wl = w.tolist()
    return math.fsum(loss(X[i], float(y[i]), wl) for i in range(len(y))) / len(y)


def _late_losses(config: TrainConfig, optimizer: Optimizer) -> tuple[list[float], list[float]]:
    """The course's per-sample run, with losses taken after the epoch, and after each update."""
    X, y, w, rng = inputs(config)
    state = optimizer.init(w)
    after_epoch: list[float] = []
    after_update: list[float] = []
    try:
        for order in orders(len(y), config.epochs, config.shuffle, rng):
            total = 0.0
            for i in order:
                g = np.array(backward(forward(X[i], float(y[i]), w.tolist())), dtype=np.float64)
                w, state = optimizer.update(g, state, w)
                total += loss(X[i], float(y[i]), w.tolist())
            after_update.append(total / len(order))
            after_epoch.append(_mean_loss(X, y, w))
    except NumericalOverflow:
        pass
    return after_epoch, after_update


def _full_batch(config: TrainConfig, optimizer: Optimizer) -> tuple[list[float], np.ndarray]:
    """One update per epoch with the mean of the per-row gradients; loss before the update."""
    X, y, w, _ = inputs(config)
    state = optimizer.init(w)
    history: list[float] = []
    try:
        for _ in range(config.epochs):
            wl = w.tolist()
            caches = [forward(X[i], float(y[i]), wl) for i in range(len(y))]
            g = np.mean([backward(c) for c in caches], axis=0)
            history.append(math.fsum(c.loss for c in caches) / len(caches))
            w, state = optimizer.update(g, state, w)
    except NumericalOverflow:
        pass
    return history, w


def loop_variants(config: TrainConfig) -> list[Variant]:
    """Wrong versions needing another loop; none for runs over LOOP_MAX_STEPS row visits."""
    if config.steps > LOOP_MAX_STEPS:
        return []
    after_epoch, after_update = _late_losses(config, config.optimizer.build())
    batch, w_batch = _full_batch(config, config.optimizer.build())
    return [
        Variant("loss_after_updates", LOSS_AFTER_EPOCH, {"loss_history": after_epoch}),
        Variant("loss_after_updates", LOSS_AFTER_UPDATE, {"loss_history": after_update}),
        Variant(
            "full_batch",
            FULL_BATCH,
            {"loss_history": batch, "final_weights": list(map(float, w_batch))},
        ),
    ]
