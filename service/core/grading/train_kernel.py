"""The compiled wrong versions of training, the course's and any graph's (numba, releases the GIL).

One loop per optimizer family (kernel.PARAMETERS' families: sgd, momentum, adam, rmsprop,
adagrad), the course's per-sample training (SPEC §5) with a mutation site at every place a
student's loop goes wrong, chosen by integer codes (``CODES``, ``GRADIENT``, ``UPDATES``,
``STATE``, ``COUNTER``): the gradient it trains on (the backward's mistakes carried into
training), the clipping of that gradient (the case's, by kernel.clip_step, as the training
kernel does it), the update rule (each family's variants, per weight), the optimizer state's
handling (reset each epoch, one per row, one scalar shared by the weights, never stored), the
step counter (per update, per epoch, per row index, per weight index), one update per epoch
(full batch), updates applied to the neighbouring weight, weight decay applied after the update,
and the rows' order (the case's, given as ``orders``). Every run records the seven ways students
book an epoch's loss at once (``LOSSES``), since they do not change the trajectory.

A variant that differs from the right training only by a hyperparameter (weight decay or
nesterov ignored, decoupled swapped, a hard-coded rate) runs the right update with another
parameter array: the caller's business (train_mistakes). The right update of each family does
the training kernel's float operations in its order (one weight at a time), so the unmutated
run equals the case's /train bit for bit (tests/core/grading/test_train_mistakes.py).

The right gradient is the training kernel's own (``kernel._gradient``); the mutated gradients
change its dw3 line, or take the backward at the global w. Each family's loop is its own
compiled function (``compiled(family)``), loaded from numba's cache or compiled on first use.

The loop (``_run``) and its step (``_step``) are written once for any number of weights and
bound per family and gradient (``_bind``, as kernel.epoch_loop binds the training loop). Another
graph's loop (``graph_compiled(compiled_graph, family)``) is the same code around the graph's
generated gradient (graphs/compiled.py): every site but the gradient's mutations, which are the
course's backward mistakes. It compiles on its first use (~1.6 s of CPU; the families' steps
come from numba's cache) and is cached on disk beside the graph's module, keyed by a stub whose
text holds the digests of this file and of that module (``_stub``).

(Over 250 lines: one loop with every site of its wrong versions, and each family's update
variants beside it.)

Tested by tests/core/grading/test_train_mistakes.py.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import FunctionType
from typing import Any

import numpy as np
from numba import njit, types

from service.core.training import kernel
from service.core.training.kernel import PARAMETERS, _gradient, clip_step


def _njit(**options: Any) -> Callable[[Any], Any]:
    """numba.njit cached on disk when a folder is writable, else compiled in memory (as the
    training kernel's `jit`: a read-only install has no cache locator)."""

    def decorate(fn: Any) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(nogil=True, **options)(fn)

    return decorate


FAMILIES = tuple(PARAMETERS)  # sgd, momentum, adam, rmsprop, adagrad
COURSE_FAMILIES = ("sgd", "momentum", "adam")  # the course's optimizers: warmed at start-up
# what a run's loss rows hold, per epoch
LOSSES = ("mean", "sum", "last_row", "wrong_vector", "after_updates", "not_reset", "after_epoch")
GRADIENT = {"right": 0, "abs_cos": 1, "sin_no_f3": 2, "global_w": 3}
# each family's update variants (0: the right update, the training kernel's operations)
UPDATES: dict[str, dict[str, int]] = {
    "sgd": {"right": 0, "ascent": 1, "ema": 2},
    "momentum": {"right": 0, "torch": 1, "cs231n": 2, "first_gradient": 3, "previous_gradient": 4},
    "adam": {
        "right": 0,
        "constants": 1,  # m/(1-b1), v/(1-b2)
        "eps_inside": 2,  # sqrt(v + eps)
        "v_not_squared": 3,  # v of g, sqrt(|v|)
        "eps_outside": 4,  # lr*m/sqrt(v) + eps
        "first_gradient": 5,  # m = g, v = g^2 at the first update
        "textbook": 6,  # bias correction m/(1-b1^t), v/(1-b2^t) whatever the flag says
    },
    "rmsprop": {
        "right": 0,
        "eps_inside": 1,  # sqrt(s + eps)
        "not_decayed": 2,  # s += (1-alpha)*g^2
        "momentum_before_division": 3,  # b = momentum*b + g; w -= lr*b/avg
        "first_gradient": 4,  # s = g^2 at the first update
    },
    "adagrad": {"right": 0, "eps_inside": 1},  # sqrt(sum + eps)
}
STATE = {"kept": 0, "reset_each_epoch": 1, "per_row": 2, "shared": 3, "not_stored": 4}
COUNTER = {"updates": 0, "epoch": 1, "row": 2, "weight": 3}
# the layout of `codes` and `extra`
CODE_FIELDS = ("gradient", "update", "state", "counter", "full_batch", "neighbour", "after_updates")
EXTRA_FIELDS = ("clip_mode", "clip_value", "clip_max_norm", "clip_norm_type", "decay_after")
GLOBAL_W = np.full(9, 0.1)


@njit(nogil=True, error_model="numpy")
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


# ---- each family's update of one weight: (p, code, t, j, c, gj, wj, s) -> new wj ---------------
# c is the state column (j, or 0 when one scalar is shared), s the (4, 9) state.


@njit(nogil=True, inline="always", error_model="numpy")
def _sgd(p: Any, code: int, t: int, j: int, c: int, gj: float, wj: float, s: Any) -> Any:
    lr, momentum, dampening, nesterov, weight_decay = p[0], p[1], p[2], p[3], p[4]
    if weight_decay != 0.0:
        gj = gj + weight_decay * wj
    if momentum != 0.0:
        if code == 2:  # the course's average in torch's place
            s[0, c] = momentum * s[0, c] + (1.0 - momentum) * gj
        else:
            s[0, c] = gj if t == 1 else momentum * s[0, c] + (1.0 - dampening) * gj
        gj = gj + momentum * s[0, c] if nesterov != 0.0 else s[0, c]
    if code == 1:
        return wj + lr * gj
    return wj - lr * gj


@njit(nogil=True, inline="always", error_model="numpy")
def _momentum(p: Any, code: int, t: int, j: int, c: int, gj: float, wj: float, s: Any) -> Any:
    lr, beta = p[0], p[1]
    if code == 1:  # torch's
        s[0, c] = beta * s[0, c] + gj
    elif code == 2:  # cs231n's
        s[0, c] = beta * s[0, c] - lr * gj
        return wj + s[0, c]
    elif code == 3 and t == 1:
        s[0, c] = gj
    elif code == 4:  # the previous raw gradient as the velocity
        step = beta * s[3, c] + (1.0 - beta) * gj
        s[3, c] = gj
        return wj - lr * step
    else:
        s[0, c] = beta * s[0, c] + (1.0 - beta) * gj
    return wj - lr * s[0, c]


@njit(nogil=True, inline="always", error_model="numpy")
def _adam(p: Any, code: int, t: int, j: int, c: int, gj: float, wj: float, s: Any) -> Any:
    lr, beta1, beta2, eps = p[0], p[1], p[2], p[3]
    bias_correction, amsgrad, weight_decay, decoupled = p[4], p[5], p[6], p[7]
    if weight_decay != 0.0:
        if decoupled != 0.0:
            wj = wj * (1.0 - lr * weight_decay)
        else:
            gj = gj + weight_decay * wj
    if code == 5 and t == 1:
        s[0, c] = gj
        s[1, c] = gj * gj
    else:
        s[0, c] = beta1 * s[0, c] + (1.0 - beta1) * gj
        s[1, c] = beta2 * s[1, c] + (1.0 - beta2) * (gj if code == 3 else gj * gj)
    vj = s[1, c]
    if amsgrad != 0.0:
        if not (s[2, c] >= vj or s[2, c] != s[2, c]):  # np.maximum, NaN-propagating
            s[2, c] = vj
        vj = s[2, c]
    mj = s[0, c]
    if code == 0 or code == 5:
        if bias_correction != 0.0:  # the training kernel's arrangement
            step_size = lr / (1.0 - math.pow(beta1, float(t)))
            root = math.sqrt(1.0 - math.pow(beta2, float(t)))
            return wj - step_size * (mj / (math.sqrt(vj) / root + eps))
        return wj - lr * mj / (math.sqrt(vj) + eps)
    if code == 1:
        return wj - lr * (mj / (1.0 - beta1)) / (math.sqrt(vj / (1.0 - beta2)) + eps)
    if bias_correction != 0.0 or code == 6:
        mj = mj / (1.0 - beta1 ** float(t))
        vj = vj / (1.0 - beta2 ** float(t))
    if code == 2:
        return wj - lr * mj / math.sqrt(vj + eps)
    if code == 3:
        return wj - lr * mj / (math.sqrt(abs(vj)) + eps)
    if code == 4:
        return wj - (lr * mj / math.sqrt(vj) + eps)
    return wj - lr * mj / (math.sqrt(vj) + eps)


@njit(nogil=True, inline="always", error_model="numpy")
def _rmsprop(p: Any, code: int, t: int, j: int, c: int, gj: float, wj: float, s: Any) -> Any:
    lr, alpha, eps, momentum, centered, weight_decay = p[0], p[1], p[2], p[3], p[4], p[5]
    if weight_decay != 0.0:
        gj = gj + weight_decay * wj
    if code == 2:
        s[0, c] = s[0, c] + (1.0 - alpha) * (gj * gj)
    elif code == 4 and t == 1:
        s[0, c] = gj * gj
    else:
        s[0, c] = alpha * s[0, c] + (1.0 - alpha) * (gj * gj)
    inner = s[0, c]
    if centered != 0.0:
        s[1, c] = alpha * s[1, c] + (1.0 - alpha) * gj
        inner = s[0, c] - s[1, c] * s[1, c]
    avg = math.sqrt(inner + eps) if code == 1 else math.sqrt(inner) + eps
    if momentum > 0.0:
        if code == 3:
            s[2, c] = momentum * s[2, c] + gj
            return wj - lr * s[2, c] / avg
        s[2, c] = momentum * s[2, c] + gj / avg
        return wj - lr * s[2, c]
    return wj - lr * (gj / avg)


@njit(nogil=True, inline="always", error_model="numpy")
def _adagrad(p: Any, code: int, t: int, j: int, c: int, gj: float, wj: float, s: Any) -> Any:
    lr, lr_decay, eps, weight_decay = p[0], p[1], p[2], p[4]
    if weight_decay != 0.0:
        gj = gj + weight_decay * wj
    clr = lr / (1.0 + (t - 1) * lr_decay)
    s[0, c] = s[0, c] + gj * gj
    if code == 1:
        return wj - clr * (gj / math.sqrt(s[0, c] + eps))
    return wj - clr * (gj / (math.sqrt(s[0, c]) + eps))


@njit(nogil=True, inline="always")
def _loss_at(X: Any, y: Any, i: int, w: Any, scratch: Any) -> float:
    return _gradient(X, y, i, w, scratch)


# What `_step` and `_run` call, bound per loop by `_bind` (each loop's own globals and no
# closure, as kernel.epoch_loop binds its loop: numba freezes globals as constants, and its disk
# cache keys a function without closure cells by its bytecode and file alone).
UPDATE: Any = None  # a family's per-weight update (_sgd .. _adagrad)
STEP: Any = None  # `_step` bound to an UPDATE, compiled
GRADIENT_AT: Any = None  # (X, y, i, w, g, mode) -> the loss at row i, dL/dw (maybe mutated) in g
LOSS_AT: Any = None  # (X, y, i, w, scratch) -> the loss at row i
GRAPH_GRADIENT: Any = None  # a graph's compiled gradient(X, y, i, w, g) (graphs/compiled.py)


def _bind(fn: Any, name: str, filename: str | None = None, **bound: Any) -> Any:
    """`fn` as a new Python function named `name`, its globals (UPDATE, STEP, ...) bound."""
    code = fn.__code__.replace(co_name=name, co_qualname=name)
    if filename is not None:
        code = code.replace(co_filename=filename)
    out = FunctionType(code, {**globals(), **bound}, name)
    out.__qualname__ = name
    return out


def _step(
    p: Any, extra: Any, codes: Any, t: int, epoch: int, row: int, g: Any, w: Any, s: Any
) -> None:
    """Clip g as the case does, then UPDATE every weight (neighbour, counter, decay)."""
    mode = int(extra[0])
    if mode != 0:
        clip_step(g, mode, extra[1], extra[2], extra[3])
    code, shared, counter, neighbour = codes[1], codes[2] == 3, codes[3], codes[5]
    k = t if counter == 0 else (epoch + 1 if counter == 1 else row + 1)
    decay, lr = extra[4], p[0]
    n = w.shape[0]
    last = g[n - 1]
    for j in range(n):
        gj = last if neighbour and j == 0 else (g[j - 1] if neighbour else g[j])
        tj = j + 1 if counter == 3 else k
        wj = UPDATE(p, code, tj, j, 0 if shared else j, gj, w[j], s)
        if decay != 0.0:  # weight decay applied to the updated weight, after the update
            wj = wj - lr * decay * wj
        w[j] = wj


@njit(nogil=True, inline="always")
def _copy(source: Any, target: Any) -> None:
    """target[:] = source for (4, n) arrays, element by element."""
    for c in range(source.shape[0]):
        for j in range(source.shape[1]):
            target[c, j] = source[c, j]


@njit(nogil=True, inline="always")
def _copy1(source: Any, target: Any) -> None:
    """target[:] = source for vectors, element by element."""
    for j in range(source.shape[0]):
        target[j] = source[j]


def _run(
    X: Any,
    y: Any,
    w0: Any,
    orders: Any,  # (epochs, n) row order of each epoch, or (1, n): the same order every epoch
    p: Any,  # the family's parameters (kernel.flatten), maybe overridden
    extra: Any,  # EXTRA_FIELDS
    codes: Any,  # CODE_FIELDS
    init: Any,  # (4, weights) the state's initial value (kernel.initial_state)
    losses: Any,  # (7, epochs) out: LOSSES
    w_out: Any,  # (weights,) out
) -> int:
    """Train one wrong version; the epochs completed (fewer when a value turns non-finite)."""
    n = orders.shape[1]
    nw = w0.shape[0]
    epochs = losses.shape[1]
    gradient_mode, state_mode = codes[0], codes[2]
    full_batch, after_updates = codes[4] != 0, codes[6] != 0
    # Element loops and np.empty only, no other array operation: numba compiles each array
    # operation's implementation in every process on first use (seconds), and a graph's loop
    # compiles in the grading process; the training kernel's loops use np.empty too.
    w = np.empty(nw)
    g = np.empty(nw)
    gsum = np.empty(nw)
    scratch = np.empty(nw)
    s = np.empty((4, nw))
    rows_s = np.empty((n if state_mode == 2 else 0, 4, nw))
    for j in range(nw):
        w[j] = w0[j]
        g[j] = 0.0
        for c in range(4):
            s[c, j] = init[c, j]
            for r in range(rows_s.shape[0]):
                rows_s[r, c, j] = init[c, j]
    t = 0
    cumulative = 0.0
    for epoch in range(epochs):
        if state_mode == 1:
            _copy(init, s)
        total = 0.0
        wrong_vector = 0.0
        after = 0.0
        last = 0.0
        for j in range(nw):
            gsum[j] = 0.0
        order = orders[epoch] if orders.shape[0] > 1 else orders[0]
        for k in range(n):
            i = order[k]
            loss = GRADIENT_AT(X, y, i, w, g, gradient_mode)
            if loss != loss:
                _copy1(w, w_out)
                return epoch
            total += loss
            cumulative += loss
            wrong_vector += (y[i] - loss) ** 2
            last = loss
            if full_batch:
                for j in range(nw):
                    gsum[j] += g[j]
                continue
            t += 1
            if state_mode == 4:
                _copy(init, s)
            state = rows_s[i] if state_mode == 2 else s
            STEP(p, extra, codes, t, epoch, k, g, w, state)
            if after_updates:
                after += LOSS_AT(X, y, i, w, scratch)
        if full_batch:
            for j in range(nw):
                g[j] = gsum[j] / n
            t += 1
            STEP(p, extra, codes, t, epoch, 0, g, w, s)
        losses[0, epoch] = total / n
        losses[1, epoch] = total / n * n
        losses[2, epoch] = last
        losses[3, epoch] = wrong_vector / n
        losses[4, epoch] = after / n
        losses[5, epoch] = cumulative / n
        if after_updates:  # the dataset's mean loss at the end-of-epoch weights
            at_end = 0.0
            for i in range(n):
                at_end += LOSS_AT(X, y, i, w, scratch)
            losses[6, epoch] = at_end / n
        for j in range(nw):
            if w[j] - w[j] != 0.0:
                _copy1(w, w_out)
                return epoch + 1
    _copy1(w, w_out)
    done: int = epochs
    return done


_UPDATES = {"sgd": _sgd, "momentum": _momentum, "adam": _adam, "rmsprop": _rmsprop,
            "adagrad": _adagrad}  # fmt: skip
# Each family's step (any weight count): names of their own, since numba names compiled code
# after the function's qualified name, and the families' loops, cached apart and loaded into one
# process, must not collide.
# Cached on disk: a graph's loop compiles in the grading process and links its family's step.
_STEPS = {
    family: _njit(error_model="numpy")(_bind(_step, f"step_{family}", UPDATE=update))
    for family, update in _UPDATES.items()
}


def _course_loop(family: str) -> Any:
    """The course's wrong-version loop of a family: its inlined gradient and its mutations."""
    fn = _bind(_run, f"loop_{family}", GRADIENT_AT=_mutated_gradient, LOSS_AT=_loss_at,
               STEP=_STEPS[family])  # fmt: skip
    return njit(nogil=True, error_model="numpy")(fn)


_SGD, _MOMENTUM, _ADAM, _RMSPROP, _ADAGRAD = (_course_loop(f) for f in _UPDATES)


# One cached entry point per family: each compiles (or loads) on its own, on first use.
@_njit()
def run_sgd(X: Any, y: Any, w0: Any, o: Any, p: Any, e: Any, c: Any, i: Any, L: Any, w: Any) -> int:
    return int(_SGD(X, y, w0, o, p, e, c, i, L, w))


@_njit()
def run_momentum(
    X: Any, y: Any, w0: Any, o: Any, p: Any, e: Any, c: Any, i: Any, L: Any, w: Any
) -> int:
    return int(_MOMENTUM(X, y, w0, o, p, e, c, i, L, w))


@_njit()
def run_adam(
    X: Any, y: Any, w0: Any, o: Any, p: Any, e: Any, c: Any, i: Any, L: Any, w: Any
) -> int:
    return int(_ADAM(X, y, w0, o, p, e, c, i, L, w))


@_njit()
def run_rmsprop(
    X: Any, y: Any, w0: Any, o: Any, p: Any, e: Any, c: Any, i: Any, L: Any, w: Any
) -> int:
    return int(_RMSPROP(X, y, w0, o, p, e, c, i, L, w))


@_njit()
def run_adagrad(
    X: Any, y: Any, w0: Any, o: Any, p: Any, e: Any, c: Any, i: Any, L: Any, w: Any
) -> int:
    return int(_ADAGRAD(X, y, w0, o, p, e, c, i, L, w))


_RUNNERS = {
    "sgd": run_sgd,
    "momentum": run_momentum,
    "adam": run_adam,
    "rmsprop": run_rmsprop,
    "adagrad": run_adagrad,
}


@cache
def compiled(family: str) -> Any:
    """A family's wrong-version loop, compiled (or loaded from numba's cache) by a first call."""
    fn = _RUNNERS[family]
    X, y = np.zeros((2, 5)), np.zeros(2)
    fn(X, y, np.full(9, 0.1), np.zeros((1, 2), dtype=np.int64), np.zeros(len(PARAMETERS[family])),
       np.zeros(len(EXTRA_FIELDS)), np.zeros(len(CODE_FIELDS), dtype=np.int64), np.zeros((4, 9)),
       np.zeros((len(LOSSES), 1)), np.zeros(9))  # fmt: skip
    return fn


def warm(families: tuple[str, ...] = FAMILIES) -> None:
    """Compile the families' wrong-version loops (or load them from the cache) on a tiny run:
    start-up calls this for the course's families so that their grades pay no compilation
    (~5 s each cold, ~0.06 s from the cache); the others compile on their first use."""
    for family in families:
        compiled(family)


# ---- another graph's wrong versions: its compiled gradient, every graph-independent site -------


def _graph_gradient(X: Any, y: Any, i: int, w: Any, g: Any, mode: int) -> float:
    """A graph's compiled gradient; `mode` ignored (the gradient's mutations are the course's)."""
    return float(GRAPH_GRADIENT(X, y, i, w, g))


_RO2 = types.Array(types.float64, 2, "C", readonly=True)
_RO1 = types.Array(types.float64, 1, "C", readonly=True)
_V = types.float64[::1]
_M = types.float64[:, ::1]
# A graph's loop (X and y read-only, as the graph's gradient takes them): run_<family>'s arguments.
GRAPH_SIGNATURE = types.int64(
    _RO2, _RO1, _V, types.int64[:, ::1], _V, _V, types.int64[::1], _M, _M, _V
)  # fmt: skip
_GRAPH_LOOPS: OrderedDict[tuple[str, str], Any] = OrderedDict()
_GRAPH_LOOPS_KEPT = 64  # as the compiled graphs kept in memory (GraphCache.max_loaded)
_GRAPH_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCK = threading.Lock()


@cache
def _stamp() -> str:
    """A digest of this file and the training kernel's (whose clip_step the loops inline)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(kernel.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _stub(graph: Any) -> str | None:
    """The file beside a graph's generated module that numba's cache keys the graph's
    wrong-version loops by: its text holds the digests of this file and of the graph's module,
    so a change of either recompiles them. None (compiled in memory) for a graph without one."""
    if not graph.path:
        return None
    module = Path(graph.path)
    stub = module.with_name("wrong_versions.py")
    text = (
        f'"""The wrong-version training loops of graph {graph.graph_id} are compiled from '
        'service/core/grading/train_kernel.py; this file only stamps their cache."""\n'
        f"# train_kernel {_stamp()} graph {hashlib.sha256(module.read_bytes()).hexdigest()[:16]}\n"
    )
    if stub.exists() and stub.read_text() == text:
        return str(stub)
    try:
        fd, temporary = tempfile.mkstemp(dir=stub.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, stub)
    except OSError:  # a read-only folder with another stamp: compiled in memory
        return None
    return str(stub)


def _compile_graph_loop(graph: Any, family: str) -> Any:
    filename = _stub(graph)
    gradient = njit(nogil=True, inline="always", error_model="numpy")(
        _bind(_graph_gradient, "graph_gradient", GRAPH_GRADIENT=graph.gradient)
    )
    fn = _bind(_run, f"wrong_{family}", filename, GRADIENT_AT=gradient, LOSS_AT=graph.gradient,
               STEP=_STEPS[family])  # fmt: skip
    if filename is not None:
        try:
            return njit(GRAPH_SIGNATURE, cache=True, nogil=True, error_model="numpy")(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            pass
    return njit(GRAPH_SIGNATURE, nogil=True, error_model="numpy")(fn)


def graph_compiled(graph: Any, family: str) -> Any:
    """A graph's (graphs.compiled.Compiled) wrong-version loop of a family, taking run_<family>'s
    arguments (X and y read-only): compiled on first use around the graph's compiled gradient
    (or loaded from numba's cache beside the graph's module), then kept in memory. The same
    sites as the course's loops except the gradient's mutations (`codes[0]` is ignored)."""
    key = (graph.graph_id, family)
    with _LOCK:
        loop = _GRAPH_LOOPS.get(key)
        if loop is not None:
            _GRAPH_LOOPS.move_to_end(key)
            return loop
        lock = _GRAPH_LOCKS.setdefault(key, threading.Lock())
    with lock:  # one compile per graph and family; other graphs' go on meanwhile
        with _LOCK:
            loop = _GRAPH_LOOPS.get(key)
        if loop is None:
            loop = _compile_graph_loop(graph, family)
            with _LOCK:
                _GRAPH_LOOPS[key] = loop
                while len(_GRAPH_LOOPS) > _GRAPH_LOOPS_KEPT:
                    _GRAPH_LOOPS.popitem(last=False)
                _GRAPH_LOCKS.pop(key, None)
    return loop
