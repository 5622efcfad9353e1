"""Students' backward_propagation(x, y, w, forward_dict) -> {"dw1": ..., ..., "dw9": ...}.

Each entry runs the student's forward (the notebook's unless said otherwise) and then their
backward at the case, as the notebook does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.support.students import notebook
from tests.support.students.model import PointCase, Student

ENTRIES: list[Student] = []

w = [0.1] * 9  # the notebook's global w


def entry(
    id: str,
    description: str,
    mistakes: tuple[str, ...] = (),
    shape: str = "dict",
    same_as: tuple[tuple[str, ...], ...] = (),
    forward: Callable[..., Any] = notebook.forward_propagation,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(case: PointCase) -> Any:
            x, w = list(case.x), list(case.w)
            return fn(x, case.y, w, forward(x, case.y, w))

        ENTRIES.append(
            Student(
                id, "backward", not mistakes, mistakes, description, shape, run, same_as=same_as
            )
        )
        return fn

    return register


def _grads(x, w, dy, dt, e, ds, dsin_f3, s):
    """The chain rule from the upstream values a student computed (dsin_f3: d sin(w3*f3)/dw3)."""
    a = w[0] * x[0] + w[1] * x[1]
    q = w[3] * x[3] + w[4] * x[4]
    return {
        "dw1": dt * e * 2 * a * x[0],
        "dw2": dt * e * 2 * a * x[1],
        "dw3": ds * q * dsin_f3,
        "dw4": ds * math.sin(w[2] * x[2]) * x[3],
        "dw5": ds * math.sin(w[2] * x[2]) * x[4],
        "dw6": dt * e,
        "dw7": dt,
        "dw8": ds,
        "dw9": dy * s,
    }


def _upstream(w, fd):
    dy, s, t = fd["dy_pred"], fd["sigmoid"], fd["tanh"]
    return dy, dy * (1 - t**2), fd["exp"], dy * w[8] * s * (1 - s), s


# ---- right ------------------------------------------------------------------------------------


@entry("bw_math", "math, the chain rule line by line from the forward dict")
def bw_math(x, y, w, forward_dict):
    return notebook.backward_propagation(x, y, w, forward_dict)


@entry("bw_numpy", "numpy floats throughout", shape="dict_numpy")
def bw_numpy(x, y, w, forward_dict):
    x, w = np.array(x), np.array(w)
    d = np.float64(forward_dict["dy_pred"])
    sig, tanh, exp = forward_dict["sigmoid"], forward_dict["tanh"], forward_dict["exp"]
    dsig = d * w[8] * (sig * (1 - sig))
    dtanh = d * (1 - np.square(tanh))
    a = np.dot(w[:2], x[:2])
    return {
        "dw1": dtanh * exp * (2 * a * x[0]),
        "dw2": dtanh * exp * (2 * a * x[1]),
        "dw3": dsig * (w[3] * x[3] + w[4] * x[4]) * (np.cos(w[2] * x[2]) * x[2]),
        "dw4": dsig * np.sin(w[2] * x[2]) * x[3],
        "dw5": dsig * np.sin(w[2] * x[2]) * x[4],
        "dw6": dtanh * exp,
        "dw7": dtanh,
        "dw8": dsig,
        "dw9": d * sig,
    }


@entry("bw_list", "returns a list dw1..dw9; one expression per gradient", shape="list")
def bw_list(x, y, w, forward_dict):
    d, s, t, e = (forward_dict[k] for k in ("dy_pred", "sigmoid", "tanh", "exp"))
    a = w[0] * x[0] + w[1] * x[1]
    q = w[3] * x[3] + w[4] * x[4]
    return [
        d * (1 - t * t) * e * 2 * a * x[0],
        d * (1 - t * t) * e * 2 * a * x[1],
        d * w[8] * s * (1 - s) * q * math.cos(w[2] * x[2]) * x[2],
        d * w[8] * s * (1 - s) * math.sin(w[2] * x[2]) * x[3],
        d * w[8] * s * (1 - s) * math.sin(w[2] * x[2]) * x[4],
        d * (1 - t * t) * e,
        d * (1 - t * t),
        d * w[8] * s * (1 - s),
        d * s,
    ]


@entry(
    "bw_array", "recomputes the forward itself; np.array of nine, sech^2 for tanh'", shape="array"
)
def bw_array(x, y, w, forward_dict):
    a = w[0] * x[0] + w[1] * x[1]
    u = np.exp(a**2 + w[5]) + w[6]
    z = np.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7]
    s = 1 / (1 + np.exp(-z))
    d = 2 * (np.tanh(u) + w[8] * s - y)
    dt = d / np.cosh(u) ** 2
    ds = d * w[8] * np.exp(-z) / (1 + np.exp(-z)) ** 2
    de = dt * np.exp(a**2 + w[5])
    return np.array(
        [
            de * 2 * a * x[0],
            de * 2 * a * x[1],
            ds * (w[3] * x[3] + w[4] * x[4]) * np.cos(w[2] * x[2]) * x[2],
            ds * np.sin(w[2] * x[2]) * x[3],
            ds * np.sin(w[2] * x[2]) * x[4],
            de,
            dt,
            ds,
            d * s,
        ]
    )


class _Node:
    """A value and its gradient, as in a hand-rolled autograd."""

    def __init__(self, value: float) -> None:
        self.value, self.grad = value, 0.0


def _graph_backward(x, y, w, accumulate: bool):
    """A node-by-node backward pass with gradients written into nodes (+= or =)."""
    ws = [_Node(v) for v in w]
    a = _Node(ws[0].value * x[0] + ws[1].value * x[1])
    sq = _Node(a.value * a.value)
    e = _Node(math.exp(sq.value + ws[5].value))
    t = _Node(math.tanh(e.value + ws[6].value))
    sn = _Node(math.sin(ws[2].value * x[2]))
    q = _Node(ws[3].value * x[3] + ws[4].value * x[4])
    s = _Node(1 / (1 + math.exp(-(sn.value * q.value + ws[7].value))))
    y_pred = _Node(t.value + ws[8].value * s.value)
    y_pred.grad = -2 * (y - y_pred.value)
    t.grad += y_pred.grad
    ws[8].grad += y_pred.grad * s.value
    s.grad += y_pred.grad * ws[8].value
    z_grad = s.grad * s.value * (1 - s.value)
    ws[7].grad += z_grad
    sn.grad += z_grad * q.value
    q.grad += z_grad * sn.value
    ws[3].grad += q.grad * x[3]
    ws[4].grad += q.grad * x[4]
    ws[2].grad += sn.grad * math.cos(ws[2].value * x[2]) * x[2]
    u_grad = t.grad * (1 - t.value**2)
    ws[6].grad += u_grad
    e.grad += u_grad
    sq.grad += e.grad * e.value
    ws[5].grad += e.grad * e.value
    for _ in range(2):  # sq = a * a: a feeds the product twice
        if accumulate:
            a.grad += sq.grad * a.value
        else:
            a.grad = sq.grad * a.value
    ws[0].grad += a.grad * x[0]
    ws[1].grad += a.grad * x[1]
    return {f"dw{i + 1}": n.grad for i, n in enumerate(ws)}


@entry("bw_graph", "a hand-rolled node graph, gradients accumulated with +=")
def bw_graph(x, y, w, forward_dict):
    return _graph_backward(x, y, w, accumulate=True)


@entry("bw_extra_keys", "also returns dy_pred, dtanh, dsigmoid", shape="dict_extra_keys")
def bw_extra_keys(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    s, t = forward_dict["sigmoid"], forward_dict["tanh"]
    return {
        "dy_pred": forward_dict["dy_pred"],
        "dtanh": 1 - t**2,
        "dsigmoid": s * (1 - s),
        **dict(sorted(grads.items(), reverse=True)),
    }


# ---- wrong ------------------------------------------------------------------------------------


@entry("bw_sin_keep_f3", "dw3 with sin(w3*f3)*f3 for cos(w3*f3)*f3", ("wrong_derivative@sin",))
def bw_sin_keep_f3(x, y, w, forward_dict):
    dy, dt, e, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, ds, math.sin(w[2] * x[2]) * x[2], s)


@entry("bw_sin_no_f3", "dw3 with sin(w3*f3) alone", ("wrong_derivative@sin", "dropped_factor@f3"))
def bw_sin_no_f3(x, y, w, forward_dict):
    dy, dt, e, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, ds, math.sin(w[2] * x[2]), s)


@entry("bw_cos_no_f3", "dw3 with cos(w3*f3) but no f3", ("dropped_factor@f3",))
def bw_cos_no_f3(x, y, w, forward_dict):
    dy, dt, e, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, ds, math.cos(w[2] * x[2]), s)


@entry("bw_global_w", "the argument is named weights; the body reads the global w", ("global_w",))
def bw_global_w(x, y, weights, forward_dict):
    return notebook.backward_propagation(x, y, w, forward_dict)


@entry(
    "bw_global_w_sin",
    "the global w, and sin(w3*f3)*f3 for cos(w3*f3)*f3",
    ("global_w", "wrong_derivative@sin"),
)
def bw_global_w_sin(x, y, weights, forward_dict):
    dy, dt, e, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, ds, math.sin(w[2] * x[2]) * x[2], s)


@entry("bw_no_w9", "the sigmoid branch without w9", ("dropped_factor@w9",))
def bw_no_w9(x, y, w, forward_dict):
    dy, dt, e, _, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, dy * s * (1 - s), math.cos(w[2] * x[2]) * x[2], s)


@entry("bw_no_exp", "dw6 = dtanh: exp's own derivative forgotten", ("dropped_factor@exp",))
def bw_no_exp(x, y, w, forward_dict):
    dy, dt, _, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, 1.0, ds, math.cos(w[2] * x[2]) * x[2], s)


@entry("bw_dw9_no_dy", "dw9 = sigmoid", ("dropped_factor@dy_pred",))
def bw_dw9_no_dy(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    grads["dw9"] = forward_dict["sigmoid"]
    return grads


@entry("bw_dw3_no_q", "dw3 without q", ("dropped_factor@q",))
def bw_dw3_no_q(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    s = forward_dict["sigmoid"]
    grads["dw3"] = forward_dict["dy_pred"] * w[8] * s * (1 - s) * math.cos(w[2] * x[2]) * x[2]
    return grads


@entry("bw_dw9_tanh", "dw9 = dy_pred * tanh", ("wrong_operand@dw9",))
def bw_dw9_tanh(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    grads["dw9"] = forward_dict["dy_pred"] * forward_dict["tanh"]
    return grads


@entry(
    "bw_sign_flip",
    "dy taken as 2*(y - y_pred): every gradient's sign flipped",
    ("sign_flip@dy_pred",),
)
def bw_sign_flip(x, y, w, forward_dict):
    return notebook.backward_propagation(
        x, y, w, {**forward_dict, "dy_pred": 2 * (y - forward_dict["y_pred"])}
    )


@entry("bw_f4_f5_swapped", "dw4 carries f5 and dw5 carries f4", ("swapped_operands@q",))
def bw_f4_f5_swapped(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    grads["dw4"], grads["dw5"] = grads["dw5"], grads["dw4"]
    return grads


@entry("bw_f1_f2_swapped", "dw1 carries f2 and dw2 carries f1", ("swapped_operands@a",))
def bw_f1_f2_swapped(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    grads["dw1"], grads["dw2"] = grads["dw2"], grads["dw1"]
    return grads


@entry("bw_off_by_one", "dw3's cos(w3*f3)*f3 reads x[3] (f4) for f3", ("off_by_one@x",))
def bw_off_by_one(x, y, w, forward_dict):
    dy, dt, e, ds, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, ds, math.cos(w[2] * x[3]) * x[3], s)


@entry("bw_dy_no_2", "dy = -(y - y_pred) recomputed without the 2", ("wrong_constant@dy_pred",))
def bw_dy_no_2(x, y, w, forward_dict):
    return notebook.backward_propagation(
        x, y, w, {**forward_dict, "dy_pred": -(y - forward_dict["y_pred"])}
    )


@entry(
    "bw_graph_overwrite",
    "the node graph with a.grad = ... where += belongs",
    ("fanout_overwrite@a",),
    same_as=(("wrong_derivative@square",),),
)
def bw_graph_overwrite(x, y, w, forward_dict):
    return _graph_backward(x, y, w, accumulate=False)


@entry(
    "bw_square_no_2",
    "d(a*a)/da taken as a",
    ("wrong_derivative@square",),
    same_as=(("fanout_overwrite@a",),),
)
def bw_square_no_2(x, y, w, forward_dict):
    grads = notebook.backward_propagation(x, y, w, forward_dict)
    a = w[0] * x[0] + w[1] * x[1]
    dw6 = grads["dw6"]
    grads["dw1"], grads["dw2"] = dw6 * a * x[0], dw6 * a * x[1]
    return grads


@entry("bw_tanh_one_minus", "tanh' = 1 - tanh", ("wrong_derivative@tanh",))
def bw_tanh_one_minus(x, y, w, forward_dict):
    dy, _, e, ds, s = _upstream(w, forward_dict)
    dt = dy * (1 - forward_dict["tanh"])
    return _grads(x, w, dy, dt, e, ds, math.cos(w[2] * x[2]) * x[2], s)


@entry(
    "bw_tanh_like_sigmoid",
    "tanh' = tanh*(1 - tanh), numpy",
    ("wrong_derivative@tanh",),
    shape="dict_numpy",
)
def bw_tanh_like_sigmoid(x, y, w, forward_dict):
    dy, _, e, ds, s = _upstream(w, forward_dict)
    t = np.float64(forward_dict["tanh"])
    return _grads(x, w, dy, dy * t * (1 - t), e, ds, np.cos(w[2] * x[2]) * x[2], s)


@entry("bw_sigmoid_alone", "sigmoid' = sigmoid", ("wrong_derivative@sigmoid",))
def bw_sigmoid_alone(x, y, w, forward_dict):
    dy, dt, e, _, s = _upstream(w, forward_dict)
    return _grads(x, w, dy, dt, e, dy * w[8] * s, math.cos(w[2] * x[2]) * x[2], s)


def sigmoid_derivative(z):
    return 1 / (1 + math.exp(-z)) * (1 - 1 / (1 + math.exp(-z)))


def tanh_derivative(u):
    return 1 - math.tanh(u) ** 2


@entry(
    "bw_double_sigmoid",
    "sigmoid_derivative(z) called on sigmoid's output",
    ("double_activation@sigmoid",),
)
def bw_double_sigmoid(x, y, w, forward_dict):
    dy, dt, e, _, s = _upstream(w, forward_dict)
    ds = dy * w[8] * sigmoid_derivative(forward_dict["sigmoid"])
    return _grads(x, w, dy, dt, e, ds, math.cos(w[2] * x[2]) * x[2], s)


@entry(
    "bw_double_tanh",
    "tanh_derivative(u) called on tanh's output",
    ("double_activation@tanh",),
    shape="list",
)
def bw_double_tanh(x, y, w, forward_dict):
    dy, _, e, ds, s = _upstream(w, forward_dict)
    dt = dy * tanh_derivative(forward_dict["tanh"])
    return list(_grads(x, w, dy, dt, e, ds, math.cos(w[2] * x[2]) * x[2], s).values())


@entry(
    "bw_sign_flip_no_w9",
    "every sign flipped, and the sigmoid branch without w9",
    ("sign_flip@dy_pred", "dropped_factor@w9"),
)
def bw_sign_flip_no_w9(x, y, w, forward_dict):
    _, dt, e, _, s = _upstream(w, forward_dict)
    dy = 2 * (y - forward_dict["y_pred"])
    return _grads(x, w, dy, -dt, e, dy * s * (1 - s), math.cos(w[2] * x[2]) * x[2], s)


@entry(
    "bw_tanh_and_square",
    "tanh' = 1 - tanh, and d(a*a)/da = a",
    ("wrong_derivative@tanh", "wrong_derivative@square"),
)
def bw_tanh_and_square(x, y, w, forward_dict):
    grads = bw_tanh_one_minus(x, y, w, forward_dict)
    a = w[0] * x[0] + w[1] * x[1]
    grads["dw1"], grads["dw2"] = grads["dw6"] * a * x[0], grads["dw6"] * a * x[1]
    return grads


@entry(
    "bw_sin_keep_f3_swapped",
    "sin(w3*f3)*f3 for cos(w3*f3)*f3, and f4/f5 swapped",
    ("wrong_derivative@sin", "swapped_operands@q"),
    shape="array",
)
def bw_sin_keep_f3_swapped(x, y, w, forward_dict):
    grads = bw_sin_keep_f3(x, y, w, forward_dict)
    grads["dw4"], grads["dw5"] = grads["dw5"], grads["dw4"]
    return np.array(list(grads.values()))
