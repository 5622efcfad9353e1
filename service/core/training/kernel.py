"""The compiled training loop: graph.forward/backward and every optimizer, fused by numba.

It performs the same float64 operations in the same order as the readable reference
(graph.py, optimizers.py, training.train_reference), so its results are bit-for-bit equal.
The optimizer is flattened into a loop code (its index in LOOPS, chosen by registry.Resolved.loop)
and its family's parameter array (`flatten`, in the order PARAMETERS lists); its state is a
(4, n_weights) array of per-weight slots: sgd's b; momentum's m; adam's m, v, v_max; rmsprop's
sq, g_avg, buf; adagrad's sum of squares. The kernel keeps its position in ``counters`` = [steps,
epochs done, diverged epoch or -1], so a shuffled run is fed its epoch orders chunk by chunk.
Each optimizer has its own compiled loop; the course's vanilla sgd and Adam (no bias correction,
amsgrad or weight decay) get loops of their own too, so options that are off cost nothing there.
Each update family has a clipping twin of its loop (code + CLIPPED) that runs `clip_step` on g
before the update, reading its mode and values from the four entries after the family's
parameters in p (clipping.Clipping.kernel_values); the loops without clipping do not contain it.
The loop itself (`_loop`) is written once and bound per update by `epoch_loop`: around the
course's inlined `_gradient` with 9 weights as a constant (the course's kernel, `compiled()`), or
around a graph's generated gradient for w.shape[0] weights (`graph_loop`, which
graphs/compiled.py compiles lazily, one loop per graph and code, cached beside the graph).
(Over 250 lines: every compiled update beside the loop that inlines it.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from types import FunctionType
from typing import Any

import numpy as np
from numba import njit, types

# The parameters each compiled update family reads, by position (registry.Spec.kernel names a
# family; a spec's `fixed` values fill what it pins, e.g. adamw's decoupled decay).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "sgd": ("learning_rate", "momentum", "dampening", "nesterov", "weight_decay"),
    "momentum": ("learning_rate", "beta"),
    "adam": (
        "learning_rate",
        "beta1",
        "beta2",
        "eps",
        "bias_correction",
        "amsgrad",
        "weight_decay",
        "decoupled",
    ),
    "rmsprop": ("learning_rate", "alpha", "eps", "momentum", "centered", "weight_decay"),
    "adagrad": ("learning_rate", "lr_decay", "eps", "initial_accumulator_value", "weight_decay"),
}
# The compiled loops, in the order of their codes: each family's, and the fast paths.
LOOPS = ("vanilla", "sgd", "momentum", "course_adam", "adam", "rmsprop", "adagrad")
VANILLA, SGD, MOMENTUM, COURSE_ADAM, ADAM, RMSPROP, ADAGRAD = range(len(LOOPS))
CODES = {name: code for code, name in enumerate(LOOPS)}
# Which family's layout each loop reads.
FAMILY = {loop: loop for loop in PARAMETERS} | {"vanilla": "sgd", "course_adam": "adam"}


def flatten(family: str, values: Mapping[str, float | bool]) -> np.ndarray:
    """A family's parameters as float64 in the order its update reads them (flags as 1.0/0.0)."""
    return np.array([float(values[k]) for k in PARAMETERS[family]], dtype=np.float64)


def initial_state(
    family: str, values: Mapping[str, float | bool], n_weights: int = 9
) -> np.ndarray:
    """Zeroed (4, n_weights) optimizer slots; adagrad's sum of squares starts at its initial."""
    state = np.zeros((4, n_weights), dtype=np.float64)
    if family == "adagrad":
        state[0, :] = float(values["initial_accumulator_value"])
    return state


@njit(nogil=True, inline="always")
def _gradient(X: Any, y: Any, i: int, w: Any, g: Any) -> float:
    """graph.forward then graph.backward at row i into g; NaN if a checked node is not finite."""
    f1, f2, f3, f4, f5 = X[i, 0], X[i, 1], X[i, 2], X[i, 3], X[i, 4]
    a = w[0] * f1 + w[1] * f2  # part 1
    z = a * a + w[5]
    e = math.exp(z)
    tanh = math.tanh(e + w[6])  # part 2
    q = w[3] * f4 + w[4] * f5  # part 3
    w3f3 = w[2] * f3
    sin = math.sin(w3f3)
    s = sin * q + w[7]
    sig = 1.0 / (1.0 + math.exp(-s))
    y_pred = tanh + w[8] * sig  # output
    diff = y[i] - y_pred
    loss = diff * diff
    # x - x is 0 for a finite x and NaN otherwise: one test for the nodes graph.forward checks
    if (a - a) + (z - z) + (e - e) + (q - q) + (w3f3 - w3f3) + (s - s) + (y_pred - y_pred) + (
        loss - loss
    ) != 0.0:
        return math.nan
    dy_pred = -2.0 * diff
    g[8] = dy_pred * sig  # y_pred = tanh + w9*sigmoid
    ds = dy_pred * w[8] * sig * (1.0 - sig)  # sigmoid: σ' = σ(1-σ)
    g[7] = ds
    g[2] = ds * q * math.cos(w3f3) * f3  # sin(w3*f3)
    g[3] = ds * sin * f4  # q = w4*f4 + w5*f5
    g[4] = ds * sin * f5
    dt = dy_pred * (1.0 - tanh * tanh)  # tanh: 1 - tanh^2
    g[6] = dt
    g[5] = dt * e  # exp
    g[0] = g[5] * 2.0 * a * f1  # a*a, then a = w1*f1 + w2*f2
    g[1] = g[5] * 2.0 * a * f2
    check = 0.0
    for j in range(9):
        check += g[j] - g[j]
    return loss if check == 0.0 else math.nan


@njit(nogil=True, inline="always")
def _vanilla(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr = p[0]
    for j in range(n):
        out[j] = w[j] - lr * g[j]


@njit(nogil=True, inline="always")
def _sgd(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, momentum, dampening, nesterov, weight_decay = p[0], p[1], p[2], p[3], p[4]
    b = state[0]
    for j in range(n):
        gj = g[j]
        if weight_decay != 0.0:
            gj = gj + weight_decay * w[j]
        if momentum != 0.0:
            b[j] = gj if t == 1 else momentum * b[j] + (1.0 - dampening) * gj
            gj = gj + momentum * b[j] if nesterov != 0.0 else b[j]
        out[j] = w[j] - lr * gj


@njit(nogil=True, inline="always")
def _momentum(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, beta = p[0], p[1]
    m = state[0]
    for j in range(n):
        m[j] = beta * m[j] + (1.0 - beta) * g[j]
        out[j] = w[j] - lr * m[j]


@njit(nogil=True, inline="always")
def _adam(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, beta1, beta2, eps = p[0], p[1], p[2], p[3]
    bias_correction, amsgrad, weight_decay, decoupled = p[4], p[5], p[6], p[7]
    m, v, v_max = state[0], state[1], state[2]
    step_size, root = lr, 1.0
    if bias_correction != 0.0:  # t incremented before use; beta**t is libm's pow, as Python's
        step_size = lr / (1.0 - math.pow(beta1, float(t)))
        root = math.sqrt(1.0 - math.pow(beta2, float(t)))
    shrink = 1.0 - lr * weight_decay
    for j in range(n):
        gj, wj = g[j], w[j]
        if weight_decay != 0.0:
            if decoupled != 0.0:
                wj = wj * shrink  # AdamW: shrink w, not g
            else:
                gj = gj + weight_decay * wj
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj
        v[j] = beta2 * v[j] + (1.0 - beta2) * (gj * gj)
        vj = v[j]
        if amsgrad != 0.0:
            if not (v_max[j] >= vj or v_max[j] != v_max[j]):  # np.maximum, NaN-propagating
                v_max[j] = vj
            vj = v_max[j]
        if bias_correction != 0.0:
            out[j] = wj - step_size * (m[j] / (math.sqrt(vj) / root + eps))
        else:
            out[j] = wj - lr * m[j] / (math.sqrt(vj) + eps)


@njit(nogil=True, inline="always")
def _course_adam(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, beta1, beta2, eps = p[0], p[1], p[2], p[3]
    m, v = state[0], state[1]
    for j in range(n):
        gj = g[j]
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj
        v[j] = beta2 * v[j] + (1.0 - beta2) * (gj * gj)
        out[j] = w[j] - lr * m[j] / (math.sqrt(v[j]) + eps)


@njit(nogil=True, inline="always")
def _rmsprop(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, alpha, eps, momentum, centered, weight_decay = p[0], p[1], p[2], p[3], p[4], p[5]
    sq, g_avg, buf = state[0], state[1], state[2]
    for j in range(n):
        gj = g[j]
        if weight_decay != 0.0:
            gj = gj + weight_decay * w[j]
        sq[j] = alpha * sq[j] + (1.0 - alpha) * (gj * gj)
        if centered != 0.0:
            g_avg[j] = alpha * g_avg[j] + (1.0 - alpha) * gj
            avg = math.sqrt(sq[j] - g_avg[j] * g_avg[j]) + eps
        else:
            avg = math.sqrt(sq[j]) + eps
        if momentum > 0.0:
            buf[j] = momentum * buf[j] + gj / avg
            out[j] = w[j] - lr * buf[j]
        else:
            out[j] = w[j] - lr * (gj / avg)


@njit(nogil=True, inline="always")
def _adagrad(p: Any, t: int, g: Any, w: Any, state: Any, out: Any, n: int) -> None:
    lr, lr_decay, eps, weight_decay = p[0], p[1], p[2], p[4]
    total = state[0]
    clr = lr / (1.0 + (t - 1) * lr_decay)
    for j in range(n):
        gj = g[j]
        if weight_decay != 0.0:
            gj = gj + weight_decay * w[j]
        total[j] = total[j] + gj * gj
        out[j] = w[j] - clr * (gj / (math.sqrt(total[j]) + eps))


@njit(nogil=True, error_model="numpy")
def _p_norm(g: Any, n: int, norm_type: float) -> float:
    """(sum |g_j|**p) ** (1/p) over g[:n] in index order; called, not inlined (pow's cost)."""
    total = 0.0
    for j in range(n):
        total += abs(g[j]) ** norm_type
    return float(total ** (1.0 / norm_type))


@njit(nogil=True, inline="always")
def _max_abs(g: Any, n: int) -> float:
    """max |g_j| over the components that are not NaN."""
    m = 0.0
    for j in range(n):
        a = abs(g[j])
        m = a if a > m else m
    return m


@njit(nogil=True, inline="always")
def _below_max_norm(g: Any, n: int, max_norm: float, norm_type: float) -> bool:
    """True only if clipping.total_norm(g[:n], p) + 1e-6 <= max_norm (p finite), cheaply.

    Then the coefficient is >= 1 and clipping by norm leaves g as it is (g * 1.0 is g), so the
    kernel skips the exact norm and its pow per component (it asks for p other than 1, 2, inf;
    1 and 2 are decided too, for the tests). False decides nothing (the caller computes it).
    The p-norm is below T when sum a_j**p < T**p, and
    p -> a**p is convex, so a**p <= (k+1-p) a**k T**(p-k) + (p-k) a**(k+1) T**(p-k-1) between
    integer exponents k, k+1 when scaled by T (1, 2 below p = 2; 2, 4 up to 4), and a**p <=
    a**4 T**(p-4) above 4 when every a < T (which sum a_j**4 < T**4 implies). Margins: the bound
    as computed is within (n + 16) ulps of the true one, 1e-6 of slack; the norm
    clipping.total_norm computes (pow or square per term, the sum in order, the root with 1/p
    rounded) exceeds the true p-norm by at most 3e-10 relative plus (n * 2**-1074) ** (1/p) <
    2**-32 for terms that underflow, which T leaves room for. p <= 32 and max_norm <= 2**31
    keep sum |g_j|**p finite and that underflow term small, n <= 10**6 keeps (n + 16) ulps
    below 1e-9, T >= 2**-32 keeps T**4 normal. NaN or inf components give False.
    tests/core/training/test_kernel.py checks the decision against the computed norm.
    """
    if not (norm_type <= 32.0 and max_norm <= 2147483648.0 and n <= 1_000_000):
        return False
    target = (max_norm - 1e-6) * (1.0 - 1e-9) - 2.0**-32  # T
    if not target >= 2.0**-32:
        return False
    t2 = target * target
    t4 = t2 * t2
    square = norm_type > 2.0
    low = 0.0  # sum a_j and sum a_j**2, or above p = 2 sum a_j**2 and sum a_j**4 (a_j = |g_j|)
    high = 0.0
    for j in range(n):
        a = abs(g[j])
        a = a * a if square else a
        low += a
        high += a * a
    if norm_type == 1.0:
        return low <= 0.999999 * target
    if norm_type <= 2.0:  # weights 2 - p, p - 1: exact
        return (2.0 - norm_type) * low * target + (norm_type - 1.0) * high <= 0.999999 * t2
    if norm_type <= 4.0:  # weights (4 - p) / 2, (p - 2) / 2: exact
        lhs = ((4.0 - norm_type) * 0.5) * low * t2 + ((norm_type - 2.0) * 0.5) * high
        return lhs <= 0.999999 * t4
    return high <= 0.999999 * t4


@njit(nogil=True, inline="always")
def clip_step(g: Any, mode: int, value: float, max_norm: float, norm_type: float) -> None:
    """clipping.Clipping.clip in place, for a gradient g of any length (mode: VALUE|NORM bits)."""
    _clip(g, g.shape[0], mode, value, max_norm, norm_type)


@njit(nogil=True, inline="always")
def _clip(g: Any, n: int, mode: int, value: float, max_norm: float, norm_type: float) -> None:
    """clip_step on g[:n]; the loops pass their weight count, a constant in the course's, since
    loops of a length known only at run time keep LLVM from unswitching the update's options.

    By value, a max of |g_j| decides whether the clamp changes anything; a norm other than 1,
    2 and inf first tries a bound without pow (_below_max_norm), so its pows are paid only on
    steps near or above max_norm.
    """
    if mode & 1 and not _max_abs(g, n) <= value:  # else the clamp changes nothing
        for j in range(n):  # torch.clamp(g, -value, value): min(max(g, -value), value)
            gj = g[j]  # selects rather than branches: which components clip is unpredictable
            gj = -value if gj < -value else gj
            g[j] = value if gj > value else gj
    if mode & 2:
        if norm_type == math.inf:
            total = 0.0  # clipping.total_norm: the same max
            nan = False
            for j in range(n):
                a = abs(g[j])
                total = a if a > total else total
                nan |= a != a
            if nan:  # torch's max keeps a NaN
                total = math.nan
        elif norm_type == 2.0:  # the exact norm is as cheap as a bound
            total = 0.0  # clipping.total_norm, the same sums in the same order
            for j in range(n):
                total += g[j] * g[j]
            total = math.sqrt(total)
        elif norm_type == 1.0:
            total = 0.0
            for j in range(n):
                total += abs(g[j])
        elif _below_max_norm(g, n, max_norm, norm_type):
            return  # the coefficient is >= 1: g stays as it is, without a pow per component
        else:
            total = _p_norm(g, n, norm_type)
        coef = max_norm / (total + 1e-6)
        # torch multiplies by clamp(coef, max=1.0); g * 1.0 is g bit for bit, so only a coef
        # below 1 (or NaN) needs the multiply. The branch keeps sqrt and / off the critical path
        # of the steps that are not clipped.
        if not coef >= 1.0:
            for j in range(n):
                g[j] = g[j] * coef


@njit(nogil=True, inline="always")
def _unclipped(p: Any, g: Any, n: int) -> None:
    """No clipping: inlined as nothing."""


@njit(nogil=True, inline="always")
def _clipped(p: Any, g: Any, n: int) -> None:
    """clip_step on g[:n] with the mode and values stored after the family's parameters in p."""
    k = p.shape[0] - 4
    _clip(g, n, int(p[k]), p[k + 1], p[k + 2], p[k + 3])


# What `_loop` calls, bound per loop by `epoch_loop` (a loop's own globals, so no closure: numba
# freezes globals as constants, and its disk cache keys a function without closure cells by its
# bytecode alone, the same in every process).
GRADIENT: Any = None  # the course's inlined _gradient, or a graph's compiled gradient
UPDATE: Any = None  # an update family (or fast path)
CLIP: Any = None  # _unclipped or _clipped
SIZE = 9  # the weight count as a compile-time constant, or 0 for w.shape[0]


def _loop(
    X: Any,
    y: Any,
    orders: Any,
    epochs: int,
    p: Any,
    w: Any,
    state: Any,
    history: Any,
    counters: Any,
) -> bool:
    """The epoch loop: GRADIENT at each row, CLIP, UPDATE, divergence checks (see train_epochs)."""
    n = y.shape[0]
    nw = SIZE if SIZE > 0 else w.shape[0]
    steps, done = counters[0], counters[1]
    g = np.empty(nw)
    out = np.empty(nw)
    for e in range(epochs):
        order = orders[e if orders.shape[0] > 1 else 0]
        total = 0.0
        for i in order:
            loss = GRADIENT(X, y, i, w, g)
            if loss != loss:
                counters[0], counters[1], counters[2] = steps, done, done
                return False
            total += loss
            CLIP(p, g, nw)
            UPDATE(p, steps + 1, g, w, state, out, nw)
            check = 0.0
            for j in range(nw):
                check += out[j] - out[j]
            if check != 0.0:
                counters[0], counters[1], counters[2] = steps, done, done
                return False
            for j in range(nw):
                w[j] = out[j]
            steps += 1
        mean = total / n
        if mean - mean != 0.0:
            counters[0], counters[1], counters[2] = steps, done, done
            return False
        history[done] = mean
        done += 1
    counters[0], counters[1] = steps, done
    return True


def epoch_loop(
    update: Any,
    clip: Any = _unclipped,
    gradient: Any = None,
    size: int = 9,
    name: str = "loop",
    filename: str | None = None,
) -> Any:
    """`_loop` bound to one update (after `clip`) and gradient, as a Python function to compile.

    `gradient` None is the course's inlined `_gradient`, else a graph's compiled
    gradient(X, y, i, w, g); `size` the weight count (the course's 9) or 0 for w.shape[0].
    `filename` (a graph's generated module) is where numba's cache=True looks for its source
    stamp and writes its files.
    """
    bound = {
        **globals(),
        "GRADIENT": _gradient if gradient is None else gradient,
        "UPDATE": update,
        "CLIP": clip,
        "SIZE": size,
    }
    code = _loop.__code__.replace(co_name=name, co_qualname=name)
    if filename is not None:
        code = code.replace(co_filename=filename)
    fn = FunctionType(code, bound, name)
    fn.__qualname__ = name
    return fn


def _epochs(update: Any, clip: Any = _unclipped) -> Any:
    """The course's epoch loop around one optimizer's update (after `clip`), all steps inlined."""
    # x/0 gives inf or NaN (then divergence), as in the numpy reference, instead of raising
    return njit(nogil=True, error_model="numpy")(epoch_loop(update, clip))


_UPDATES = (_vanilla, _sgd, _momentum, _course_adam, _adam, _rmsprop, _adagrad)  # by code
_LOOPS = tuple(_epochs(update) for update in _UPDATES)
(
    _vanilla_epochs,
    _sgd_epochs,
    _momentum_epochs,
    _course_adam_epochs,
    _adam_epochs,
    _rmsprop_epochs,
    _adagrad_epochs,
) = _LOOPS
CLIPPED = len(LOOPS)  # code + CLIPPED: the clipping twin of family loop `code`
# One twin per update family, not per loop: a fast path's clipped run takes its family's twin,
# which does the same float operations when the options are off (so the same bits). Twins of
# the fast paths too would cost their compile time (~5 s each) for a few percent.
(
    _sgd_clipped,
    _momentum_clipped,
    _adam_clipped,
    _rmsprop_clipped,
    _adagrad_clipped,
) = CLIPPED_LOOPS = tuple(
    _epochs(update, _clipped) for update in (_sgd, _momentum, _adam, _rmsprop, _adagrad)
)


def loop_name(code: int) -> str:
    """A loop's name: its LOOPS entry, `_clipped` appended for a clipping twin."""
    return LOOPS[code - CLIPPED] + "_clipped" if code >= CLIPPED else LOOPS[code]


def graph_loop(code: int, gradient: Any, filename: str | None = None) -> Any:
    """Loop `code` (an index in LOOPS, + CLIPPED for a clipping twin) around a graph's compiled
    gradient, for any weight count, as a Python function (compiled.py compiles it lazily)."""
    clipped = code >= CLIPPED
    update = _UPDATES[code - CLIPPED if clipped else code]
    clip = _clipped if clipped else _unclipped
    return epoch_loop(update, clip, gradient, 0, "loop_" + loop_name(code), filename)


@njit(nogil=True)
def _train_clipped(
    code: int,
    X: Any,
    y: Any,
    orders: Any,
    epochs: int,
    p: Any,
    w: Any,
    state: Any,
    history: Any,
    counters: Any,
) -> bool:
    """The clipping twin of family loop `code` (an index in LOOPS)."""
    args = (X, y, orders, epochs, p, w, state, history, counters)
    if code == SGD:
        return bool(_sgd_clipped(*args))
    if code == MOMENTUM:
        return bool(_momentum_clipped(*args))
    if code == ADAM:
        return bool(_adam_clipped(*args))
    if code == RMSPROP:
        return bool(_rmsprop_clipped(*args))
    return bool(_adagrad_clipped(*args))


def train_epochs(
    X: Any,
    y: Any,
    orders: Any,
    epochs: int,
    code: int,
    p: Any,
    w: Any,
    state: Any,
    history: Any,
    counters: Any,
) -> bool:
    """Run `epochs` epochs, visiting rows as orders[e] (or orders[0] for all); False if diverged.

    `code` is the loop's index in LOOPS (a family's + CLIPPED for its clipping twin), `p` its
    family's parameters (`flatten`, then the clipping's four values for a twin). Updates w, state,
    history[epoch] and counters in place; on divergence w keeps the last finite weights and
    counters[2] is the epoch in which it happened.
    """
    if y.shape[0] == 0:  # an epoch's mean loss divides by the rows; the reference raises too
        raise ZeroDivisionError("float division by zero")
    args = (X, y, orders, epochs, p, w, state, history, counters)
    if code == VANILLA:
        completed = _vanilla_epochs(*args)
    elif code == SGD:
        completed = _sgd_epochs(*args)
    elif code == MOMENTUM:
        completed = _momentum_epochs(*args)
    elif code == COURSE_ADAM:
        completed = _course_adam_epochs(*args)
    elif code == ADAM:
        completed = _adam_epochs(*args)
    elif code == RMSPROP:
        completed = _rmsprop_epochs(*args)
    elif code == ADAGRAD:
        completed = _adagrad_epochs(*args)
    else:
        completed = _train_clipped(code - CLIPPED, *args)
    return bool(completed)


_IN_2D = types.Array(types.float64, 2, "C", readonly=True)
_IN_1D = types.Array(types.float64, 1, "C", readonly=True)
_ORDERS = types.Array(types.int64, 2, "C", readonly=True)
SIGNATURE = types.boolean(
    _IN_2D,  # X
    _IN_1D,  # y
    _ORDERS,
    types.int64,  # epochs
    types.int64,  # code
    _IN_1D,  # p
    types.float64[::1],  # w
    types.float64[:, ::1],  # state
    types.float64[::1],  # history
    types.int64[::1],  # counters
)

# One loop of a graph (train_epochs without `code`, which picks the loop instead).
LOOP_SIGNATURE = types.boolean(
    _IN_2D, _IN_1D, _ORDERS, types.int64, _IN_1D, types.float64[::1], types.float64[:, ::1],
    types.float64[::1], types.int64[::1],
)  # fmt: skip


def jit(fn: Any, signature: Any) -> Any:
    """fn compiled for `signature` only, cached on disk when a folder is writable, else in memory.

    numba picks the cache folder when the dispatcher is made (NUMBA_CACHE_DIR, else the
    module's __pycache__, else the user's cache) and refuses to cache when none is writable:
    then a read-only install compiles in memory instead.
    """
    try:
        return njit(signature, cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(signature, nogil=True)(fn)


def _no_blas() -> None:
    raise ImportError("the kernel calls no BLAS")


@contextmanager
def _skipping_the_blas_probe() -> Iterator[None]:
    """Answer numba's BLAS probe with "none" meanwhile, instead of importing scipy.linalg.

    numba's first compile or cache load in a process imports its implementations; one of them
    (numba.np.arraymath) calls numba.np.linalg.ensure_blas, which imports scipy.linalg, only to
    choose how np.correlate's inner product is computed: ~0.45 s of the ~0.8 s a cache load
    takes. The kernel calls no BLAS. Later compiles that need BLAS (np.dot) still probe it.
    """
    from numba.np import linalg  # one of the implementations that load anyway

    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:  # a numba without this probe: nothing to skip
        yield
        return
    linalg.ensure_blas = _no_blas
    try:
        yield
    finally:
        linalg.ensure_blas = probe


@cache
def compiled() -> Any:
    """train_epochs, compiled (or loaded from the cache) on first use; start-up makes that use."""
    with _skipping_the_blas_probe():
        return jit(train_epochs, SIGNATURE)


def cache_dir() -> str | None:
    """The folder the compiled kernel is cached in; None when it lives in memory only."""
    path = compiled()._cache.cache_path
    return None if path is None else str(path)
