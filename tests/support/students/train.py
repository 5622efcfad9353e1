"""Students' training loops: per-sample updates over the rows, one loss per epoch (SPEC §5).

Each function is train(X, Y, w, epochs, hp): hp holds the case's hyperparameters under the
registry's names (learning_rate, beta, beta1, beta2, eps). The loops call the notebook's forward
and backward (which are right) unless their entry says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.support.students import notebook
from tests.support.students.model import Student, TrainCase
from tests.support.students.notebook import backward_propagation, forward_propagation

ENTRIES: list[Student] = []

ALL = ("sgd", "momentum", "adam")
TORCH_KINDS = (
    "sgd_nesterov", "sgd_dampening", "adam_torch", "adamw", "rmsprop", "adagrad", "sgd_shuffled"
)  # fmt: skip


def entry(
    id: str,
    description: str,
    optimizers: tuple[str, ...],
    mistakes: tuple[str, ...] = (),
    shape: str = "history_weights",
    same_as: tuple[tuple[str, ...], ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(case: TrainCase) -> Any:
            hp = dict(case.hyper)
            if case.form in TORCH_KINDS:  # the case's shuffle and clipping, as the notebook's cell
                hp |= {"shuffle": case.shuffle, "seed": case.seed, "max_norm": case.max_norm}
            return fn(case.X, case.y, list(case.initial_weights), case.epochs, hp)

        ENTRIES.append(
            Student(
                id,
                "train",
                not mistakes,
                mistakes,
                description,
                shape,
                run,
                optimizers=frozenset(optimizers),
                same_as=same_as,
            )
        )
        return fn

    return register


def grad(x, y, w):
    """The notebook's forward dict and gradient list at one row."""
    fd = forward_propagation(x, y, w)
    return fd, list(backward_propagation(x, y, w, fd).values())


class Course:
    """The course's three update rules on lists, one weight at a time."""

    def __init__(self, name: str, hp: dict[str, float]) -> None:
        self.name, self.hp = name, hp
        self.m, self.v = [0.0] * 9, [0.0] * 9

    def step(self, w: list[float], g: list[float]) -> list[float]:
        hp = self.hp
        lr = hp["learning_rate"]
        if self.name == "sgd":
            return [wi - lr * gi for wi, gi in zip(w, g, strict=True)]
        if self.name == "momentum":
            b = hp["beta"]
            self.m = [b * mi + (1 - b) * gi for mi, gi in zip(self.m, g, strict=True)]
            return [wi - lr * mi for wi, mi in zip(w, self.m, strict=True)]
        b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
        self.m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(self.m, g, strict=True)]
        self.v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(self.v, g, strict=True)]
        return [
            wi - lr * mi / (math.sqrt(vi) + eps)
            for wi, mi, vi in zip(w, self.m, self.v, strict=True)
        ]


def course_loop(X, Y, w, epochs, opt, gradient=grad):
    """The course's loop with the given optimizer: loss before each update, mean per epoch."""
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = gradient(x, y, w)
            total += fd["loss"]
            w = opt.step(w, g)
        history.append(total / len(X))
    return history, w


# ---- right ------------------------------------------------------------------------------------


@entry("tr_sgd_lists", "vanilla SGD on lists, sum of losses / n", ("sgd",))
def tr_sgd_lists(X, Y, w, epochs, hp):
    lr = hp["learning_rate"]
    losses = []
    for _ in range(epochs):
        epoch_loss = 0
        for i in range(len(X)):
            fd = forward_propagation(X[i], Y[i], w)
            epoch_loss += fd["loss"]
            grads = backward_propagation(X[i], Y[i], w, fd)
            for j in range(9):
                w[j] = w[j] - lr * grads[f"dw{j + 1}"]
        losses.append(epoch_loss / len(X))
    return losses, w


@entry(
    "tr_numpy",
    "numpy arrays for w, m, v; np.mean of the epoch's losses",
    ALL,
    shape="weights_history",
)
def tr_numpy(X, Y, w, epochs, hp):
    X, Y, w = np.array(X), np.array(Y), np.array(w)
    m, v = np.zeros(9), np.zeros(9)
    history = []
    for _ in range(epochs):
        losses = []
        for x, y in zip(X, Y, strict=True):
            fd = forward_propagation(x, y, w)
            losses.append(fd["loss"])
            g = np.array(list(backward_propagation(x, y, w, fd).values()))
            if "beta1" in hp:
                m = hp["beta1"] * m + (1 - hp["beta1"]) * g
                v = hp["beta2"] * v + (1 - hp["beta2"]) * g**2
                w = w - hp["learning_rate"] * m / (np.sqrt(v) + hp["eps"])
            elif "beta" in hp:
                m = hp["beta"] * m + (1 - hp["beta"]) * g
                w = w - hp["learning_rate"] * m
            else:
                w = w - hp["learning_rate"] * g
        history.append(np.mean(losses))
    return w, history


@entry("tr_mse_of_predictions", "collects y_pred per row; loss = mean((Y - y_pred)^2)", ALL)
def tr_mse_of_predictions(X, Y, w, epochs, hp):
    opt = Course("adam" if "beta1" in hp else "momentum" if "beta" in hp else "sgd", hp)
    history = []
    for _ in range(epochs):
        preds = []
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            preds.append(fd["y_pred"])
            w = opt.step(w, g)
        history.append(float(np.mean((np.array(Y) - np.array(preds)) ** 2)))
    return history, w


@entry(
    "tr_per_weight",
    "a loop over the nine weights with scalar state per weight",
    ("momentum", "adam"),
    shape="train_dict",
)
def tr_per_weight(X, Y, w, epochs, hp):
    m, v = [0] * 9, [0] * 9
    hist = []
    for _ in range(epochs):
        total = 0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total = total + fd["loss"]
            for j in range(9):
                if "beta" in hp:
                    m[j] = hp["beta"] * m[j] + (1 - hp["beta"]) * g[j]
                    w[j] -= hp["learning_rate"] * m[j]
                else:
                    m[j] = hp["beta1"] * m[j] + (1 - hp["beta1"]) * g[j]
                    v[j] = hp["beta2"] * v[j] + (1 - hp["beta2"]) * g[j] * g[j]
                    w[j] -= hp["learning_rate"] * m[j] / (math.sqrt(v[j]) + hp["eps"])
        hist.append(total / len(X))
    return {"losses": hist, "weights": w}


@entry(
    "tr_momentum_lerp",
    "m += (1 - beta)*(g - m), the same average written as a lerp",
    ("momentum",),
    shape="history_array",
)
def tr_momentum_lerp(X, Y, w, epochs, hp):
    w, m = np.array(w), np.zeros(9)
    history = np.zeros(epochs)
    for e in range(epochs):
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            history[e] += fd["loss"] / len(X)
            m += (1 - hp["beta"]) * (np.array(g) - m)
            w -= hp["learning_rate"] * m
    return history


@entry(
    "tr_adam_pow",
    "v ** 0.5 for the square root; returns (w, history)",
    ("adam",),
    shape="weights_history",
)
def tr_adam_pow(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    w, m, v = np.array(w), np.zeros(9), np.zeros(9)
    history = []
    for _ in range(epochs):
        y_preds = []
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            y_preds.append(fd["y_pred"])
            g = np.array(g)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * (g * g)
            w = w - lr * m / (v**0.5 + eps)
        history.append(sum((yt - yp) ** 2 for yt, yp in zip(Y, y_preds, strict=True)) / len(Y))
    return w, history


@entry(
    "tr_history_short",
    "for epoch in range(1, epochs): one epoch fewer, each entry right",
    ("sgd", "momentum"),
    shape="history_short",
)
def tr_history_short(X, Y, w, epochs, hp):
    name = "momentum" if "beta" in hp else "sgd"
    history, _ = course_loop(X, Y, w, epochs - 1, Course(name, hp))
    return history


# ---- wrong: loss bookkeeping --------------------------------------------------------------------


@entry("tr_loss_sum", "the epoch's loss is the sum of the row losses", ("sgd",), ("loss_sum",))
def tr_loss_sum(X, Y, w, epochs, hp):
    history, w = course_loop(X, Y, w, epochs, Course("sgd", hp))
    return [h * len(X) for h in history], w


@entry(
    "tr_loss_last_row", "the epoch's loss is the last row's loss", ("momentum",), ("loss_last_row",)
)
def tr_loss_last_row(X, Y, w, epochs, hp):
    opt = Course("momentum", hp)
    history = []
    for _ in range(epochs):
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            loss = fd["loss"]
            w = opt.step(w, g)
        history.append(loss)
    return history, w


@entry(
    "tr_loss_wrong_vector",
    "mean_squared_error(Y, losses): the MSE of the wrong vector",
    ("adam",),
    ("loss_wrong_vector",),
)
def tr_loss_wrong_vector(X, Y, w, epochs, hp):
    opt = Course("adam", hp)
    history = []
    for _ in range(epochs):
        losses = []
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            losses.append(fd["loss"])
            w = opt.step(w, g)
        history.append(float(np.mean((np.array(Y) - np.array(losses)) ** 2)))
    return history, w


@entry(
    "tr_loss_after_update",
    "each row's loss computed after its update",
    ("sgd",),
    ("loss_after_updates",),
)
def tr_loss_after_update(X, Y, w, epochs, hp):
    opt = Course("sgd", hp)
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            _, g = grad(x, y, w)
            w = opt.step(w, g)
            total += notebook.loss(x, y, w)
        history.append(total / len(X))
    return history, w


@entry(
    "tr_loss_not_reset", "total = 0 set once before the epochs", ("momentum",), ("loss_not_reset",)
)
def tr_loss_not_reset(X, Y, w, epochs, hp):
    opt = Course("momentum", hp)
    history, total = [], 0.0
    for _ in range(epochs):
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            w = opt.step(w, g)
        history.append(total / len(X))
    return history, w


# ---- wrong: the loop --------------------------------------------------------------------------


@entry("tr_full_batch", "one update per epoch with the mean gradient", ("sgd",), ("full_batch",))
def tr_full_batch(X, Y, w, epochs, hp):
    history = []
    for _ in range(epochs):
        results = [grad(x, y, w) for x, y in zip(X, Y, strict=True)]
        history.append(sum(fd["loss"] for fd, _ in results) / len(X))
        g = np.mean([g for _, g in results], axis=0)
        w = [wi - hp["learning_rate"] * gi for wi, gi in zip(w, g, strict=True)]
    return history, w


@entry(
    "tr_shuffled",
    "rows visited in a fresh random order each epoch",
    ("sgd", "adam"),
    ("wrong_order",),
)
def tr_shuffled(X, Y, w, epochs, hp):
    opt = Course("adam" if "beta1" in hp else "sgd", hp)
    rng = np.random.default_rng(42)
    history = []
    for _ in range(epochs):
        total = 0.0
        for i in rng.permutation(len(X)):
            fd, g = grad(X[i], Y[i], w)
            total += fd["loss"]
            w = opt.step(w, g)
        history.append(total / len(X))
    return history, w


@entry(
    "tr_neighbour",
    "w[j] -= lr * g[j - 1]: each weight gets its neighbour's gradient",
    ("sgd",),
    ("off_by_one@update",),
)
def tr_neighbour(X, Y, w, epochs, hp):
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            for j in range(9):
                w[j] -= hp["learning_rate"] * g[j - 1]
        history.append(total / len(X))
    return history, w


@entry("tr_ascent", "w += lr * g", ("sgd",), ("sign_flip@update",))
def tr_ascent(X, Y, w, epochs, hp):
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            w = [wi + hp["learning_rate"] * gi for wi, gi in zip(w, g, strict=True)]
        history.append(total / len(X))
    return history, w


@entry("tr_lr_hardcoded", "vanilla with lr = 0.01 hard-coded", ("sgd",), ("wrong_constant@lr",))
def tr_lr_hardcoded(X, Y, w, epochs, hp):
    return course_loop(X, Y, w, epochs, Course("sgd", {"learning_rate": 0.01}))


def _abs_cos(x, y, w):
    fd, g = grad(x, y, w)
    s = fd["sigmoid"]
    ds = fd["dy_pred"] * w[8] * s * (1 - s)
    g[2] = ds * (w[3] * x[3] + w[4] * x[4]) * abs(math.cos(w[2] * x[2]) * x[2])
    return fd, g


@entry(
    "tr_abs_cos",
    "trains on dw3 with |cos(w3*f3)*f3|",
    ("sgd", "momentum"),
    ("wrong_derivative@sin",),
)
def tr_abs_cos(X, Y, w, epochs, hp):
    return course_loop(X, Y, w, epochs, Course("momentum" if "beta" in hp else "sgd", hp), _abs_cos)


def _sin_no_f3(x, y, w):
    fd, g = grad(x, y, w)
    s = fd["sigmoid"]
    g[2] = fd["dy_pred"] * w[8] * s * (1 - s) * (w[3] * x[3] + w[4] * x[4]) * math.sin(w[2] * x[2])
    return fd, g


@entry(
    "tr_sin_no_f3",
    "trains on dw3 with sin(w3*f3) for cos(w3*f3)*f3",
    ("adam",),
    ("wrong_derivative@sin", "dropped_factor@f3"),
)
def tr_sin_no_f3(X, Y, w, epochs, hp):
    return course_loop(X, Y, w, epochs, Course("adam", hp), _sin_no_f3)


def _global_w(x, y, w_now):
    fd = forward_propagation(x, y, w_now)
    return fd, list(backward_propagation(x, y, notebook.w, fd).values())


@entry("tr_global_w", "the backward inside the loop is given the global w", ("sgd",), ("global_w",))
def tr_global_w(X, Y, w, epochs, hp):
    return course_loop(X, Y, w, epochs, Course("sgd", hp), _global_w)


# ---- wrong: Adam ------------------------------------------------------------------------------


def adam_loop(X, Y, w, epochs, hp, update):
    """The course's loop; update(w, g, state, epoch, row) -> w, with state a dict it keeps."""
    state = {"m": np.zeros(9), "v": np.zeros(9), "t": 0}
    history = []
    for epoch in range(epochs):
        total = 0.0
        for row, (x, y) in enumerate(zip(X, Y, strict=True)):
            fd, g = grad(x, y, list(w))
            total += fd["loss"]
            w = update(np.array(w), np.array(g), state, epoch, row)
        history.append(total / len(X))
    return history, np.asarray(w)


def _moments(g, state, b1, b2):
    state["m"] = b1 * state["m"] + (1 - b1) * g
    state["v"] = b2 * state["v"] + (1 - b2) * g**2
    return state["m"], state["v"]


@entry(
    "tr_adam_constants",
    "m / (1 - beta1) and v / (1 - beta2)",
    ("adam",),
    ("adam_constant_correction",),
)
def tr_adam_constants(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]

    def update(w, g, state, epoch, row):
        m, v = _moments(g, state, b1, b2)
        return w - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)

    return adam_loop(X, Y, w, epochs, hp, update)


def _corrected(t, lr, b1, b2, eps):
    def update(w, g, state, epoch, row):
        m, v = _moments(g, state, b1, b2)
        k = t(state, epoch, row)
        return w - lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)

    return update


def _t_updates(state, epoch, row):
    state["t"] += 1
    return state["t"]


@entry(
    "tr_adam_bias_correction",
    "torch's Adam: bias-corrected m and v",
    ("adam",),
    ("bias_correction",),
    shape="weights_history",
)
def tr_adam_bias_correction(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    history, w = adam_loop(X, Y, w, epochs, hp, _corrected(_t_updates, lr, b1, b2, eps))
    return w, history


@entry(
    "tr_adam_t_epoch",
    "bias correction with t = epoch + 1",
    ("adam",),
    ("bias_correction", "t_per_epoch"),
)
def tr_adam_t_epoch(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    return adam_loop(X, Y, w, epochs, hp, _corrected(lambda s, e, r: e + 1, lr, b1, b2, eps))


@entry(
    "tr_adam_t_row",
    "bias correction with t = row index + 1",
    ("adam",),
    ("bias_correction", "t_per_row"),
)
def tr_adam_t_row(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    return adam_loop(X, Y, w, epochs, hp, _corrected(lambda s, e, r: r + 1, lr, b1, b2, eps))


@entry(
    "tr_adam_t_weight",
    "per-weight loop, bias correction with t = j + 1",
    ("adam",),
    ("bias_correction", "t_per_weight"),
)
def tr_adam_t_weight(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    m, v = [0.0] * 9, [0.0] * 9
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            for j in range(9):
                m[j] = b1 * m[j] + (1 - b1) * g[j]
                v[j] = b2 * v[j] + (1 - b2) * g[j] ** 2
                m_hat = m[j] / (1 - b1 ** (j + 1))
                v_hat = v[j] / (1 - b2 ** (j + 1))
                w[j] = w[j] - lr * m_hat / (math.sqrt(v_hat) + eps)
        history.append(total / len(X))
    return history, w


@entry("tr_adam_eps_inside", "w -= lr * m / sqrt(v + eps)", ("adam",), ("eps_inside_sqrt",))
def tr_adam_eps_inside(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]

    def update(w, g, state, epoch, row):
        m, v = _moments(g, state, b1, b2)
        return w - lr * m / np.sqrt(v + eps)

    return adam_loop(X, Y, w, epochs, hp, update)


@entry(
    "tr_adam_reset", "m = v = 0 at the start of every epoch", ("adam",), ("state_reset_each_epoch",)
)
def tr_adam_reset(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]

    def update(w, g, state, epoch, row):
        if row == 0:
            state["m"], state["v"] = np.zeros(9), np.zeros(9)
        m, v = _moments(g, state, b1, b2)
        return w - lr * m / (np.sqrt(v) + eps)

    return adam_loop(X, Y, w, epochs, hp, update)


@entry(
    "tr_adam_v_not_squared",
    "v = beta2*v + (1 - beta2)*g, then sqrt(|v|)",
    ("adam",),
    ("adam_v_not_squared",),
)
def tr_adam_v_not_squared(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]

    def update(w, g, state, epoch, row):
        state["m"] = b1 * state["m"] + (1 - b1) * g
        state["v"] = b2 * state["v"] + (1 - b2) * g
        return w - lr * state["m"] / (np.sqrt(np.abs(state["v"])) + eps)

    return adam_loop(X, Y, w, epochs, hp, update)


@entry(
    "tr_adam_eps_precedence",
    "w -= lr * m / np.sqrt(v) + eps: eps outside the division",
    ("adam",),
    ("misplaced@eps",),
)
def tr_adam_eps_precedence(X, Y, w, epochs, hp):
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]

    def update(w, g, state, epoch, row):
        m, v = _moments(g, state, b1, b2)
        w -= lr * m / np.sqrt(v) + eps
        return w

    return adam_loop(X, Y, w, epochs, hp, update)


# ---- wrong: momentum ----------------------------------------------------------------------------


def momentum_loop(X, Y, w, epochs, update):
    """The course's loop; update(w, g, state, epoch, row) -> w, with state a dict it keeps."""
    state: dict[str, Any] = {"m": [0.0] * 9}
    history = []
    for epoch in range(epochs):
        total = 0.0
        for row, (x, y) in enumerate(zip(X, Y, strict=True)):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            w = update(w, g, state, epoch, row)
        history.append(total / len(X))
    return history, w


@entry(
    "tr_mom_never_updated",
    "m_new = beta*m + (1-beta)*g is used, m itself stays 0",
    ("momentum",),
    ("state_not_updated",),
    same_as=(("wrong_constant@lr",),),
)
def tr_mom_never_updated(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]

    def update(w, g, state, epoch, row):
        m_new = [b * mi + (1 - b) * gi for mi, gi in zip(state["m"], g, strict=True)]
        return [wi - lr * mi for wi, mi in zip(w, m_new, strict=True)]

    return momentum_loop(X, Y, w, epochs, update)


@entry("tr_mom_per_row", "a velocity per row: velocities[row]", ("momentum",), ("state_per_row",))
def tr_mom_per_row(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]
    velocities: dict[int, list[float]] = {}

    def update(w, g, state, epoch, row):
        m = velocities.get(row, [0.0] * 9)
        m = [b * mi + (1 - b) * gi for mi, gi in zip(m, g, strict=True)]
        velocities[row] = m
        return [wi - lr * mi for wi, mi in zip(w, m, strict=True)]

    return momentum_loop(X, Y, w, epochs, update)


@entry(
    "tr_mom_first_gradient",
    "the velocity starts at the first gradient",
    ("momentum",),
    ("state_initial_value",),
)
def tr_mom_first_gradient(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]

    def update(w, g, state, epoch, row):
        if epoch == 0 and row == 0:
            state["m"] = list(g)
        else:
            state["m"] = [b * mi + (1 - b) * gi for mi, gi in zip(state["m"], g, strict=True)]
        return [wi - lr * mi for wi, mi in zip(w, state["m"], strict=True)]

    return momentum_loop(X, Y, w, epochs, update)


@entry(
    "tr_mom_shared",
    "one scalar v updated inside the loop over weights",
    ("momentum",),
    ("state_shared",),
)
def tr_mom_shared(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]
    v = 0.0
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            for j in range(9):
                v = b * v + (1 - b) * g[j]
                w[j] -= lr * v
        history.append(total / len(X))
    return history, w


@entry(
    "tr_mom_previous_gradient",
    "w -= lr*(beta*g_prev + (1-beta)*g), g_prev the raw gradient",
    ("momentum",),
    ("velocity_previous_gradient",),
)
def tr_mom_previous_gradient(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]

    def update(w, g, state, epoch, row):
        step = [b * pi + (1 - b) * gi for pi, gi in zip(state["m"], g, strict=True)]
        state["m"] = g
        return [wi - lr * si for wi, si in zip(w, step, strict=True)]

    return momentum_loop(X, Y, w, epochs, update)


def _torch_update(lr, b):
    def update(w, g, state, epoch, row):
        state["m"] = [b * mi + gi for mi, gi in zip(state["m"], g, strict=True)]
        return [wi - lr * mi for wi, mi in zip(w, state["m"], strict=True)]

    return update


@entry(
    "tr_mom_torch",
    "torch's form: b = beta*b + g; w -= lr*b",
    ("momentum",),
    ("torch_momentum",),
    same_as=(("cs231n_momentum",),),
)
def tr_mom_torch(X, Y, w, epochs, hp):
    return momentum_loop(X, Y, w, epochs, _torch_update(hp["learning_rate"], hp["beta"]))


@entry(
    "tr_mom_cs231n",
    "cs231n's form: v = mu*v - lr*g; w += v (numpy)",
    ("momentum",),
    ("cs231n_momentum",),
    shape="weights_history",
    same_as=(("torch_momentum",),),
)
def tr_mom_cs231n(X, Y, w, epochs, hp):
    lr, mu = hp["learning_rate"], hp["beta"]
    w, v = np.array(w), np.zeros(9)
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = grad(x, y, w)
            total += fd["loss"]
            v = mu * v - lr * np.array(g)
            w = w + v
        history.append(total / len(X))
    return w, history


@entry(
    "tr_mom_torch_loss_sum",
    "torch's momentum form, and the epoch loss as a sum",
    ("momentum",),
    ("torch_momentum", "loss_sum"),
)
def tr_mom_torch_loss_sum(X, Y, w, epochs, hp):
    history, w = momentum_loop(X, Y, w, epochs, _torch_update(hp["learning_rate"], hp["beta"]))
    return [h * len(X) for h in history], w


@entry(
    "tr_mom_torch_abs_cos",
    "torch's momentum form, trained on a dw3 with |cos(w3*f3)*f3|",
    ("momentum",),
    ("torch_momentum", "wrong_derivative@sin"),
)
def tr_mom_torch_abs_cos(X, Y, w, epochs, hp):
    lr, b = hp["learning_rate"], hp["beta"]
    m = [0.0] * 9
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            fd, g = _abs_cos(x, y, w)
            total += fd["loss"]
            m = [b * mi + gi for mi, gi in zip(m, g, strict=True)]
            w = [wi - lr * mi for wi, mi in zip(w, m, strict=True)]
        history.append(total / len(X))
    return history, w


@entry(
    "tr_mom_torch_reset",
    "torch's momentum form, its buffer reset each epoch",
    ("momentum",),
    ("torch_momentum", "state_reset_each_epoch"),
)
def tr_mom_torch_reset(X, Y, w, epochs, hp):
    inner = _torch_update(hp["learning_rate"], hp["beta"])

    def update(w, g, state, epoch, row):
        if row == 0:
            state["m"] = [0.0] * 9
        return inner(w, g, state, epoch, row)

    return momentum_loop(X, Y, w, epochs, update)


@entry(
    "tr_mom_reset",
    "the course's momentum with m = 0 at every epoch's start",
    ("momentum",),
    ("state_reset_each_epoch",),
    shape="history",
)
def tr_mom_reset(X, Y, w, epochs, hp):
    history = []
    for _ in range(epochs):
        h, w = course_loop(X, Y, w, 1, Course("momentum", hp))
        history += h
    return history


# ---- torch's optimizers: SGD with momentum, Adam/AdamW, RMSprop, Adagrad; shuffle, clipping ------


def torch_loop(X, Y, w, epochs, hp, update, reuse_order=False, shuffle=None, clip=True):
    """A torch-style loop on lists: the case's shuffle (from default_rng(seed) after drawing the
    weights), clip_grad_norm_, then update(w, g, state, t, epoch) -> w with a state dict."""
    rng = np.random.default_rng(hp.get("seed", 0))
    rng.normal(0, 0.01, 9)  # the course's weights are drawn first; the case gives its own
    shuffle = hp.get("shuffle", False) if shuffle is None else shuffle
    order = list(range(len(X)))
    if shuffle and reuse_order:
        order = list(rng.permutation(len(X)))
    state, t, history = {}, 0, []
    for epoch in range(epochs):
        if shuffle and not reuse_order:
            order = list(rng.permutation(len(X)))
        total = 0.0
        for i in order:
            fd, g = grad(X[i], Y[i], w)
            total += fd["loss"]
            if clip and hp.get("max_norm"):
                norm = math.sqrt(sum(gi * gi for gi in g))
                coef = hp["max_norm"] / (norm + 1e-6)
                if coef < 1:
                    g = [gi * coef for gi in g]
            t += 1
            w = update(w, g, state, t, epoch)
        history.append(total / len(X))
    return history, w


def sgd_update(hp, nesterov=True, ema=False, dampening=True, decay="g"):
    """torch.optim.SGD's step, one weight at a time; the keywords are the student's choices."""
    lr, mom, wd = hp["learning_rate"], hp.get("momentum", 0.0), hp.get("weight_decay", 0.0)
    damp = hp.get("dampening", 0.0) if dampening else 0.0

    def update(w, g, state, t, epoch):
        b = state.setdefault("b", [0.0] * 9)
        out = []
        for j in range(9):
            gj = g[j] + wd * w[j] if decay == "g" else g[j]
            if mom:
                if ema:
                    b[j] = mom * b[j] + (1 - mom) * gj
                else:
                    b[j] = gj if t == 1 else mom * b[j] + (1 - damp) * gj
                gj = gj + mom * b[j] if nesterov and hp.get("nesterov") else b[j]
            new = w[j] - lr * gj
            if decay == "after":
                new -= lr * wd * new
            out.append(new)
        return out

    return update


@entry(
    "tr_torch_sgd",
    "torch.optim.SGD by hand: momentum, dampening, nesterov, weight decay, shuffle, clipping",
    ("sgd_nesterov", "sgd_dampening", "sgd_shuffled"),
)
def tr_torch_sgd(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp))


@entry(
    "tr_sgd_nesterov_plain",
    "nesterov=True in the case, plain momentum in the code",
    ("sgd_nesterov",),
    ("nesterov_as_plain",),
)
def tr_sgd_nesterov_plain(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp, nesterov=False))


@entry(
    "tr_sgd_ema",
    "torch SGD's buffer as the course's average b = mu*b + (1-mu)*g",
    ("sgd_dampening",),
    ("ema_momentum",),
)
def tr_sgd_ema(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp, ema=True))


@entry(
    "tr_sgd_no_dampening",
    "b = momentum*b + g: the dampening forgotten",
    ("sgd_dampening",),
    ("dampening_ignored",),
)
def tr_sgd_no_dampening(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp, dampening=False))


@entry(
    "tr_sgd_decay_after",
    "w -= lr*b, then w -= lr*wd*w: the decay after the step",
    ("sgd_nesterov",),
    ("weight_decay_after_update",),
)
def tr_sgd_decay_after(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp, decay="after"))


@entry(
    "tr_sgd_no_decay",
    "weight_decay read from the case but never used",
    ("sgd_nesterov",),
    ("weight_decay_ignored",),
)
def tr_sgd_no_decay(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp, decay="none"))


@entry(
    "tr_sgd_not_shuffled",
    "shuffle=True in the case, the rows in file order in the code",
    ("sgd_shuffled",),
    ("not_shuffled",),
)
def tr_sgd_not_shuffled(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp), shuffle=False)


@entry(
    "tr_sgd_shuffle_once",
    "order = rng.permutation(n) before the epoch loop",
    ("sgd_shuffled",),
    ("shuffle_once",),
)
def tr_sgd_shuffle_once(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp), reuse_order=True)


@entry(
    "tr_sgd_no_clip",
    "clip_grad_norm_ left out of the loop",
    ("sgd_shuffled",),
    ("clipping_ignored",),
)
def tr_sgd_no_clip(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, sgd_update(hp), clip=False)


def adam_update(hp, decoupled=None, corrected=True, amsgrad=True):
    """torch.optim.Adam / AdamW's step per weight, bias correction written the textbook way."""
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["eps"]
    wd = hp.get("weight_decay", 0.0)
    if decoupled is None:
        decoupled = "bias_correction" not in hp  # AdamW's hyperparameters have no such flag
    amsgrad = amsgrad and hp.get("amsgrad", False)

    def update(w, g, state, t, epoch):
        m = state.setdefault("m", [0.0] * 9)
        v = state.setdefault("v", [0.0] * 9)
        v_max = state.setdefault("v_max", [0.0] * 9)
        out = []
        for j in range(9):
            wj, gj = w[j], g[j]
            if decoupled:
                wj = wj * (1 - lr * wd)
            else:
                gj = gj + wd * wj
            m[j] = b1 * m[j] + (1 - b1) * gj
            v[j] = b2 * v[j] + (1 - b2) * gj**2
            vj = v[j]
            if amsgrad:
                v_max[j] = max(v_max[j], v[j])
                vj = v_max[j]
            m_hat, v_hat = (m[j] / (1 - b1**t), vj / (1 - b2**t)) if corrected else (m[j], vj)
            out.append(wj - lr * m_hat / (math.sqrt(v_hat) + eps))
        return out

    return update


@entry(
    "tr_torch_adam",
    "torch.optim.Adam/AdamW by hand: bias correction, amsgrad, weight decay",
    ("adam_torch", "adamw"),
)
def tr_torch_adam(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adam_update(hp))


@entry(
    "tr_torch_adam_uncorrected",
    "torch's Adam written without m_hat and v_hat",
    ("adam_torch", "adamw"),
    ("no_bias_correction",),
)
def tr_torch_adam_uncorrected(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adam_update(hp, corrected=False))


@entry(
    "tr_adam_no_amsgrad",
    "amsgrad=True in the case, no v_max",
    ("adam_torch",),
    ("amsgrad_ignored",),
)
def tr_adam_no_amsgrad(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adam_update(hp, amsgrad=False))


@entry(
    "tr_adam_decoupled",
    "Adam's weight decay written as w *= 1 - lr*wd",
    ("adam_torch",),
    ("weight_decay_decoupled",),
)
def tr_adam_decoupled(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adam_update(hp, decoupled=True))


@entry(
    "tr_adamw_coupled",
    "AdamW's weight decay added to g: g += wd*w",
    ("adamw",),
    ("weight_decay_coupled",),
)
def tr_adamw_coupled(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adam_update(hp, decoupled=False))


@entry(
    "tr_adam_torch_t_epoch",
    "torch's Adam with t = epoch + 1 in the bias correction",
    ("adam_torch",),
    ("t_per_epoch",),
)
def tr_adam_torch_t_epoch(X, Y, w, epochs, hp):
    inner = adam_update(hp)
    return torch_loop(
        X, Y, w, epochs, hp, lambda w, g, s, t, epoch: inner(w, g, s, epoch + 1, epoch)
    )


def rmsprop_update(hp, decayed=True, centered=True, momentum="torch", eps="outside", shared=False):
    """torch.optim.RMSprop's step per weight; the keywords are the student's choices."""
    lr, a, mom, wd = hp["learning_rate"], hp["alpha"], hp["momentum"], hp["weight_decay"]

    def update(w, g, state, t, epoch):
        s = state.setdefault("s", [0.0] * 9)
        gbar = state.setdefault("gbar", [0.0] * 9)
        b = state.setdefault("b", [0.0] * 9)
        out = []
        for j in range(9):
            k = 0 if shared else j
            gj = g[j] + wd * w[j]
            s[k] = s[k] + (1 - a) * gj**2 if not decayed else a * s[k] + (1 - a) * gj**2
            inner = s[k]
            if hp["centered"]:
                gbar[k] = a * gbar[k] + (1 - a) * gj
                if centered:
                    inner = inner - gbar[k] ** 2
            avg = math.sqrt(inner + hp["eps"]) if eps == "inside" else math.sqrt(inner) + hp["eps"]
            if momentum == "raw":
                b[k] = mom * b[k] + gj
                out.append(w[j] - lr * b[k] / avg)
            else:
                b[k] = mom * b[k] + gj / avg
                out.append(w[j] - lr * b[k])
        return out

    return update


@entry("tr_rmsprop", "torch.optim.RMSprop by hand: centered, momentum, weight decay", ("rmsprop",))
def tr_rmsprop(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp))


@entry("tr_rms_not_decayed", "s += (1 - alpha)*g*g: no alpha*s", ("rmsprop",), ("rms_not_decayed",))
def tr_rms_not_decayed(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp, decayed=False))


@entry(
    "tr_rms_not_centered",
    "gbar kept but never subtracted from s",
    ("rmsprop",),
    ("rms_not_centered",),
)
def tr_rms_not_centered(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp, centered=False))


@entry(
    "tr_rms_momentum_raw",
    "b = mu*b + g; w -= lr*b/avg",
    ("rmsprop",),
    ("rms_momentum_misuse",),
)
def tr_rms_momentum_raw(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp, momentum="raw"))


@entry("tr_rms_eps_inside", "avg = sqrt(s + eps)", ("rmsprop",), ("eps_inside_sqrt",))
def tr_rms_eps_inside(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp, eps="inside"))


@entry(
    "tr_rms_shared", "scalar s, gbar and b shared by the weights", ("rmsprop",), ("state_shared",)
)
def tr_rms_shared(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, rmsprop_update(hp, shared=True))


def adagrad_update(hp, decay="update", reset=False):
    """torch.optim.Adagrad's step per weight; decay: 'update' (torch), 'epoch', or 'none'."""
    lr, eps, wd = hp["learning_rate"], hp["eps"], hp["weight_decay"]

    def update(w, g, state, t, epoch):
        if reset and state.get("epoch") != epoch:
            state["sum"], state["epoch"] = [0.0] * 9, epoch
        total = state.setdefault("sum", [0.0] * 9)
        k = {"update": t, "epoch": epoch + 1, "none": 1}[decay]
        clr = lr / (1 + (k - 1) * hp["lr_decay"])
        out = []
        for j in range(9):
            gj = g[j] + wd * w[j]
            total[j] += gj * gj
            out.append(w[j] - clr * gj / (math.sqrt(total[j]) + eps))
        return out

    return update


@entry("tr_adagrad", "torch.optim.Adagrad by hand: lr decay, weight decay", ("adagrad",))
def tr_adagrad(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adagrad_update(hp))


@entry("tr_adagrad_no_decay", "lr_decay never applied", ("adagrad",), ("lr_decay_ignored",))
def tr_adagrad_no_decay(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adagrad_update(hp, decay="none"))


@entry(
    "tr_adagrad_decay_per_epoch",
    "lr / (1 + epoch*lr_decay): the decay counted per epoch",
    ("adagrad",),
    ("t_per_epoch",),
)
def tr_adagrad_decay_per_epoch(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adagrad_update(hp, decay="epoch"))


@entry(
    "tr_adagrad_reset",
    "the sum of squares reset at each epoch",
    ("adagrad",),
    ("state_reset_each_epoch",),
)
def tr_adagrad_reset(X, Y, w, epochs, hp):
    return torch_loop(X, Y, w, epochs, hp, adagrad_update(hp, reset=True))
