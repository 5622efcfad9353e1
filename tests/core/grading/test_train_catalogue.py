"""Every entry of the training catalogue, on every optimizer it is a mistake of: a student's loop
written by hand (plain Python lists and math, one weight at a time, as students write it) makes
the mistake, the grader grades its loss history, and the diagnosis names the entry's labels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from service.core.dataset import load_dataset
from service.core.grading import tasks, train_mistakes
from service.core.grading.train_catalogue import CATALOGUE, Mistake
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run
from service.core.training.registry import SPECS
from tests.support.students.notebook import backward_propagation, forward_propagation

ROWS, EPOCHS, SEED = 40, 3, 5
W0 = [0.8, 0.5, 1.2, -0.9, 0.7, -0.4, 0.3, 0.6, -1.1]  # w3*f3 past pi/2 on some rows: cos < 0
RATE = {
    "sgd": 0.02,
    "momentum": 0.02,
    "adam": 0.01,
    "adamw": 0.01,
    "rmsprop": 0.01,
    "adagrad": 0.05,
}
# the hyperparameters a case sets so that an entry's `when` holds
TURNED_ON: dict[str, dict[str, Any]] = {
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "dampening": {"momentum": 0.9, "dampening": 0.3},
    "weight_decay": {"weight_decay": 0.05},
    "bias_correction": {"bias_correction": True},
    "amsgrad": {"amsgrad": True},
    "centered": {"centered": True},
    "lr_decay": {"lr_decay": 0.05},
}
# entries that give the very numbers of an earlier entry (the diagnosis names that one)
SAME_AS = {("cs231n_momentum",): ("torch_momentum",)}


def _case(m: Mistake, optimizer: str) -> TrainConfig:
    hyper: dict[str, Any] = {"learning_rate": RATE[optimizer], "eps": 1e-4}  # eps that shows
    if "torch_momentum" in m.labels:  # torch's b sums ~1/(1-beta) gradients: a smaller step
        hyper["learning_rate"] /= 10
    for key in m.when:
        hyper |= TURNED_ON.get(key, {})
    hyper = {k: v for k, v in hyper.items() if k in SPECS[optimizer].defaults}
    data = load_dataset()
    clipping = Clipping(max_norm=0.02) if "clipping" in m.when else None
    return TrainConfig.named(
        optimizer, hyper, clipping, epochs=EPOCHS, seed=SEED, shuffle="shuffle" in m.when,
        initial_weights=W0, X=data.X[:ROWS], y=data.y[:ROWS],
    )  # fmt: skip


PAIRS = [
    (m, o)
    for m in CATALOGUE
    for o in m.optimizers
    if m.applies(o, train_mistakes.settings(_case(m, o)))
]


# ---- the student's code ---------------------------------------------------------------------


def gradient(x, y, w, mistakes):
    """The notebook's forward and backward; a wrong dw3 or the global w when the student has it."""
    fd = forward_propagation(x, y, w)
    if "global_w" in mistakes:
        return fd, list(backward_propagation(x, y, [0.1] * 9, fd).values())
    g = list(backward_propagation(x, y, w, fd).values())
    s = fd["sigmoid"]
    ds = fd["dy_pred"] * w[8] * s * (1 - s)
    q = w[3] * x[3] + w[4] * x[4]
    if "dropped_factor@f3" in mistakes:
        g[2] = ds * q * math.sin(w[2] * x[2])
    elif "wrong_derivative@sin" in mistakes:
        g[2] = ds * q * abs(math.cos(w[2] * x[2]) * x[2])
    return fd, g


def clip(g, case):
    """torch's clip_grad_value_ then clip_grad_norm_, written out."""
    c = case.optimizer.clipping
    if c is None:
        return g
    if c.value is not None:
        g = [min(max(gi, -c.value), c.value) for gi in g]
    if c.max_norm is not None:
        norm = math.sqrt(sum(gi * gi for gi in g))
        coef = c.max_norm / (norm + 1e-6)
        if coef < 1:
            g = [gi * coef for gi in g]
    return g


def new_state(hp, n=9):
    return {k: [0.0] * n for k in ("m", "v", "vmax", "b", "sq", "gbar", "prev")} | {
        "sum": [hp.get("initial_accumulator_value", 0.0)] * n
    }


def update(name, hp, g, w, st, t, mistakes, epoch, row):
    """One update of optimizer `name`, one weight at a time, with the student's mistakes."""
    lr = hp["learning_rate"]
    wd = hp.get("weight_decay", 0.0)
    if "weight_decay_ignored" in mistakes or "weight_decay_after_update" in mistakes:
        wd_in_g = 0.0
    else:
        wd_in_g = wd
    out = []
    for j in range(len(w)):
        k = 0 if "state_shared" in mistakes else j
        tj = t
        if "t_per_epoch" in mistakes:
            tj = epoch + 1
        elif "t_per_row" in mistakes:
            tj = row + 1
        elif "t_per_weight" in mistakes:
            tj = j + 1
        gj, wj = g[j], w[j]
        if name == "sgd":
            gj = gj + wd_in_g * wj if wd_in_g else gj
            mom = hp["momentum"]
            if mom:
                damp = 0.0 if "dampening_ignored" in mistakes else hp["dampening"]
                if "ema_momentum" in mistakes:
                    st["b"][k] = mom * st["b"][k] + (1 - mom) * gj
                elif tj == 1:
                    st["b"][k] = gj
                else:
                    st["b"][k] = mom * st["b"][k] + (1 - damp) * gj
                if hp["nesterov"] and "nesterov_as_plain" not in mistakes:
                    gj = gj + mom * st["b"][k]
                else:
                    gj = st["b"][k]
            new = wj + lr * gj if "sign_flip@update" in mistakes else wj - lr * gj
        elif name == "momentum":
            b = hp["beta"]
            if "cs231n_momentum" in mistakes:
                st["m"][k] = b * st["m"][k] - lr * gj
                new = wj + st["m"][k]
            elif "velocity_previous_gradient" in mistakes:
                new = wj - lr * (b * st["prev"][k] + (1 - b) * gj)
                st["prev"][k] = gj
            else:
                if "torch_momentum" in mistakes:
                    st["m"][k] = b * st["m"][k] + gj
                elif "state_initial_value" in mistakes and t == 1:
                    st["m"][k] = gj
                else:
                    st["m"][k] = b * st["m"][k] + (1 - b) * gj
                new = wj - lr * st["m"][k]
        elif name in ("adam", "adamw"):
            b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
            decoupled = name == "adamw"
            if "weight_decay_coupled" in mistakes or "weight_decay_decoupled" in mistakes:
                decoupled = not decoupled
            if wd_in_g and decoupled:
                wj = wj * (1 - lr * wd)
            elif wd_in_g:
                gj = gj + wd * wj
            if "state_initial_value" in mistakes and t == 1:
                st["m"][k], st["v"][k] = gj, gj * gj
            else:
                st["m"][k] = b1 * st["m"][k] + (1 - b1) * gj
                sq = gj if "adam_v_not_squared" in mistakes else gj * gj
                st["v"][k] = b2 * st["v"][k] + (1 - b2) * sq
            m, v = st["m"][k], st["v"][k]
            if hp.get("amsgrad") and "amsgrad_ignored" not in mistakes:
                st["vmax"][k] = max(st["vmax"][k], v)
                v = st["vmax"][k]
            corrected = hp.get("bias_correction", name == "adamw")
            if "bias_correction" in mistakes or "no_bias_correction" in mistakes:
                corrected = not corrected
            if "adam_constant_correction" in mistakes:
                m, v = m / (1 - b1), v / (1 - b2)
            elif corrected:
                m, v = m / (1 - b1**tj), v / (1 - b2**tj)
            if "eps_inside_sqrt" in mistakes:
                new = wj - lr * m / math.sqrt(v + eps)
            elif "adam_v_not_squared" in mistakes:
                new = wj - lr * m / (math.sqrt(abs(v)) + eps)
            elif "misplaced@eps" in mistakes:
                new = wj - (lr * m / math.sqrt(v) + eps)
            else:
                new = wj - lr * m / (math.sqrt(v) + eps)
        elif name == "rmsprop":
            a, eps, mom = hp["alpha"], hp["eps"], hp["momentum"]
            gj = gj + wd_in_g * wj if wd_in_g else gj
            if "rms_not_decayed" in mistakes:
                st["sq"][k] += (1 - a) * gj * gj
            elif "state_initial_value" in mistakes and t == 1:
                st["sq"][k] = gj * gj
            else:
                st["sq"][k] = a * st["sq"][k] + (1 - a) * gj * gj
            inner = st["sq"][k]
            if hp["centered"]:
                st["gbar"][k] = a * st["gbar"][k] + (1 - a) * gj
                if "rms_not_centered" not in mistakes:
                    inner = inner - st["gbar"][k] ** 2
            avg = (
                math.sqrt(inner + eps) if "eps_inside_sqrt" in mistakes else math.sqrt(inner) + eps
            )
            if mom and "rms_momentum_misuse" in mistakes:
                st["b"][k] = mom * st["b"][k] + gj
                new = wj - lr * st["b"][k] / avg
            elif mom:
                st["b"][k] = mom * st["b"][k] + gj / avg
                new = wj - lr * st["b"][k]
            else:
                new = wj - lr * gj / avg
        else:  # adagrad
            eps, decay = hp["eps"], hp["lr_decay"]
            gj = gj + wd_in_g * wj if wd_in_g else gj
            clr = lr if "lr_decay_ignored" in mistakes else lr / (1 + (tj - 1) * decay)
            st["sum"][k] += gj * gj
            if "eps_inside_sqrt" in mistakes:
                new = wj - clr * gj / math.sqrt(st["sum"][k] + eps)
            else:
                new = wj - clr * gj / (math.sqrt(st["sum"][k]) + eps)
        if "weight_decay_after_update" in mistakes:
            new = new - lr * wd * new
        out.append(new)
    return out


def student(case: TrainConfig, m: Mistake, w0: list[float] = W0, grad: Any = None) -> list[float]:
    """The student's training loop: one loss per epoch, the mean before each row's update.

    `grad(x, y, w, mistakes)` -> (forward dict with its loss, gradient): the course's notebook
    (`gradient`) by default."""
    grad = gradient if grad is None else grad
    n = len(w0)
    mistakes = set(m.labels)
    name, hp = case.optimizer.name, dict(case.optimizer.hyper)
    for key, value in m.override:
        if key == "learning_rate":
            hp["learning_rate"] = value  # hard-coded in the student's cell
    X, Y = np.asarray(case.X).tolist(), np.asarray(case.y).tolist()
    rng = np.random.default_rng(case.seed)
    rng.normal(0, 0.01, n)  # the case's weights are drawn, then replaced by the given ones
    w = list(w0)
    if "wrong_order" in mistakes:
        rng = np.random.default_rng(int(m.order[5:]))  # the student's own shuffle
    order = list(range(len(X)))
    if "shuffle_once" in mistakes:
        order = rng.permutation(len(X)).tolist()
    st, rows, t = new_state(hp, n), {}, 0
    history = []
    for epoch in range(case.epochs):
        if "state_reset_each_epoch" in mistakes:
            st = new_state(hp, n)
        shuffled = case.shuffle or "wrong_order" in mistakes
        if shuffled and not {"not_shuffled", "shuffle_once"} & mistakes:
            order = rng.permutation(len(X)).tolist()
        total, grads = 0.0, []
        for row, i in enumerate(order):
            fd, g = grad(X[i], Y[i], w, mistakes)
            total += fd["loss"]
            if "full_batch" in mistakes:
                grads.append(g)
                continue
            if "clipping_ignored" not in mistakes:
                g = clip(g, case)
            if "off_by_one@update" in mistakes:
                g = [g[j - 1] for j in range(n)]
            t += 1
            state = rows.setdefault(i, new_state(hp, n)) if "state_per_row" in mistakes else st
            if "state_not_updated" in mistakes:
                state = new_state(hp, n)
            w = update(name, hp, g, w, state, t, mistakes, epoch, row)
        if grads:
            g = clip([sum(col) / len(X) for col in zip(*grads, strict=True)], case)
            t += 1
            w = update(name, hp, g, w, st, t, mistakes, epoch, 0)
        history.append(total / len(X))
    return history


def _trainer(configs):
    return [run(c) for c in configs]


def _id(pair: tuple[Mistake, str]) -> str:
    m, o = pair
    return f"{o}:{'+'.join(m.labels)}:{m.order}:{m.override}"


def test_the_student_without_mistakes_is_the_case() -> None:
    for optimizer in SPECS:
        case = _case(Mistake((), ()), optimizer)
        history = student(case, Mistake((), ()))
        assert history == pytest.approx(run(case).loss_history, rel=1e-12)


@pytest.mark.parametrize("pair", PAIRS, ids=[_id(p) for p in PAIRS])
def test_each_entry_is_named_from_a_student_loop(pair: tuple[Mistake, str]) -> None:
    m, optimizer = pair
    case = _case(m, optimizer)
    history = student(case, m)
    assert history != pytest.approx(run(case).loss_history, rel=1e-6)  # the mistake shows
    grade = tasks.grade_train(case, {"loss_history": history}, _trainer)
    assert not grade.passed
    assert grade.items[0].labels == SAME_AS.get(m.labels, m.labels)


def test_every_entry_is_exercised() -> None:
    assert {id(m) for m, _ in PAIRS} == {id(m) for m in CATALOGUE}
