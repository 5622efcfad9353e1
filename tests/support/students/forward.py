"""Students' forward_propagation(x, y, w): the template's dict of exp, tanh, sigmoid, loss, dy_pred.

Each function is one student's cell. The right ones differ in the last bits (numpy or math, another
way to write the same formula); the wrong ones carry the mistakes their entry names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.support.students.model import PointCase, Student

ENTRIES: list[Student] = []

w = [0.1] * 9  # the notebook's global w


def entry(
    id: str,
    description: str,
    mistakes: tuple[str, ...] = (),
    shape: str = "dict",
    same_as: tuple[tuple[str, ...], ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(case: PointCase) -> Any:
            return fn(list(case.x), case.y, list(case.w))

        ENTRIES.append(
            Student(id, "forward", not mistakes, mistakes, description, shape, run, same_as=same_as)
        )
        return fn

    return register


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---- right ------------------------------------------------------------------------------------


@entry("fw_math", "math throughout, y_pred reported")
def fw_math(x, y, w):
    f1, f2, f3, f4, f5 = x
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w
    e = math.exp((w1 * f1 + w2 * f2) ** 2 + w6)
    t = math.tanh(e + w7)
    s = _sig(math.sin(w3 * f3) * (w4 * f4 + w5 * f5) + w8)
    y_pred = t + w9 * s
    return {
        "exp": e,
        "tanh": t,
        "sigmoid": s,
        "y_pred": y_pred,
        "loss": (y - y_pred) ** 2,
        "dy_pred": -2 * (y - y_pred),
    }


@entry(
    "fw_numpy", "numpy ufuncs (np.tanh is 1 ulp from math.tanh at some rows)", shape="dict_numpy"
)
def fw_numpy(x, y, w):
    x, w = np.array(x), np.array(w)
    a = w[0] * x[0] + w[1] * x[1]
    e = np.exp(a * a + w[5])
    t = np.tanh(e + w[6])
    s = 1 / (1 + np.exp(-(np.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])))
    y_pred = t + w[8] * s
    return {
        "exp": e,
        "tanh": t,
        "sigmoid": s,
        "y_pred": y_pred,
        "loss": np.square(y - y_pred),
        "dy_pred": -2 * (y - y_pred),
    }


@entry("fw_template", "the template's keys only, no y_pred", shape="dict_no_y_pred")
def fw_template(x, y, w):
    exp = math.exp(math.pow(w[0] * x[0] + w[1] * x[1], 2) + w[5])
    tanh = math.tanh(exp + w[6])
    sigmoid = 1 / (1 + math.exp(-(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])))
    loss = (y - (tanh + w[8] * sigmoid)) * (y - (tanh + w[8] * sigmoid))
    return {
        "exp": exp,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "loss": loss,
        "dy_pred": -2 * (y - (tanh + w[8] * sigmoid)),
    }


@entry("fw_dot", "np.dot for the weighted sums, 0-d arrays and numpy floats", shape="dict_numpy")
def fw_dot(x, y, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    a = np.dot(w[0:2], x[0:2])
    q = np.dot(w[3:5], x[3:5])
    exp = np.exp(a**2 + w[5])
    tanh = np.tanh(exp + w[6])
    sigmoid = 1.0 / (1.0 + np.exp(-(np.sin(w[2] * x[2]) * q + w[7])))
    y_pred = tanh + w[8] * sigmoid
    return {
        "exp": np.array(exp),
        "tanh": tanh,
        "sigmoid": sigmoid,
        "y_pred": y_pred,
        "loss": np.mean((y - y_pred) ** 2),
        "dy_pred": 2 * (y_pred - y),
    }


@entry("fw_sigmoid_exp_ratio", "sigmoid written e^z / (1 + e^z), loss as (y_pred - y)^2")
def fw_sigmoid_exp_ratio(x, y, w):
    exp = math.exp((w[0] * x[0] + w[1] * x[1]) * (w[0] * x[0] + w[1] * x[1]) + w[5])
    tanh = math.tanh(w[6] + exp)
    z = w[7] + (w[3] * x[3] + w[4] * x[4]) * math.sin(w[2] * x[2])
    sigmoid = math.exp(z) / (1 + math.exp(z))
    y_pred = w[8] * sigmoid + tanh
    return {
        "exp": exp,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "y_pred": y_pred,
        "loss": (y_pred - y) ** 2,
        "dy_pred": 2 * (y_pred - y),
    }


@entry(
    "fw_tanh_from_exp",
    "tanh written (e^2u - 1)/(e^2u + 1), intermediates reported too",
    shape="dict_extra_keys",
)
def fw_tanh_from_exp(x, y, w):
    a = sum(w[i] * x[i] for i in range(2))
    q = sum(w[i] * x[i] for i in range(3, 5))
    exp = math.e ** (a**2 + w[5])
    u = exp + w[6]
    tanh = (math.exp(2 * u) - 1) / (math.exp(2 * u) + 1)
    sigmoid = 1 / (1 + math.exp(-(math.sin(w[2] * x[2]) * q + w[7])))
    y_pred = tanh + w[8] * sigmoid
    err = y - y_pred
    return {
        "a": a,
        "q": q,
        "exp": exp,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "y_pred": y_pred,
        "loss": err**2,
        "dy_pred": -2 * err,
        "u": u,
    }


# ---- wrong ------------------------------------------------------------------------------------


def _out(e: float, t: float, s: float, y_pred: float, y: float) -> dict[str, float]:
    return {
        "exp": e,
        "tanh": t,
        "sigmoid": s,
        "y_pred": y_pred,
        "loss": (y - y_pred) ** 2,
        "dy_pred": -2 * (y - y_pred),
    }


@entry("fw_sigmoid_sign", "sigmoid as 1/(1 + e^z)", ("sign_flip@sigmoid",))
def fw_sigmoid_sign(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = 1 / (1 + math.exp(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7]))
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_no_w6", "exp(a*a) without w6", ("dropped_term@w6",))
def fw_no_w6(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2)
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_no_w7", "tanh(exp) without w7", ("dropped_term@w7",), shape="dict_no_y_pred")
def fw_no_w7(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e)
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    out = _out(e, t, s, t + w[8] * s, y)
    del out["y_pred"]
    return out


@entry("fw_no_w8", "sigmoid(sin(w3*f3)*q) without w8", ("dropped_term@w8",))
def fw_no_w8(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]))
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_w7_outside", "tanh(exp) + w7: w7 outside the tanh", ("misplaced@w7",))
def fw_w7_outside(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e) + w[6]
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_w9_on_tanh", "y_pred = w9*tanh + sigmoid", ("misplaced@w9",))
def fw_w9_on_tanh(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, w[8] * t + s, y)


@entry("fw_loss_not_squared", "loss = y - y_pred", ("wrong_op@loss",))
def fw_loss_not_squared(x, y, w):
    out = fw_math(x, y, w)
    out["loss"] = y - out["y_pred"]
    return out


@entry("fw_loss_abs", "loss = |y - y_pred| with numpy", ("wrong_op@loss",), shape="dict_numpy")
def fw_loss_abs(x, y, w):
    out = fw_numpy(x, y, w)
    out["loss"] = np.abs(y - out["y_pred"])
    return out


@entry(
    "fw_loss_half",
    "loss = 0.5*(y - y_pred)^2 and dy_pred = -(y - y_pred)",
    ("wrong_constant@loss",),
)
def fw_loss_half(x, y, w):
    out = fw_math(x, y, w)
    out["loss"] = 0.5 * (y - out["y_pred"]) ** 2
    out["dy_pred"] = -(y - out["y_pred"])
    return out


@entry("fw_dy_sign", "dy_pred = 2*(y - y_pred)", ("sign_flip@dy_pred",), shape="dict_no_y_pred")
def fw_dy_sign(x, y, w):
    out = fw_template(x, y, w)
    out["dy_pred"] = -out["dy_pred"]
    return out


@entry("fw_dy_no_2", "dy_pred = -(y - y_pred), the factor 2 forgotten", ("wrong_constant@dy_pred",))
def fw_dy_no_2(x, y, w):
    out = fw_math(x, y, w)
    out["dy_pred"] = -(y - out["y_pred"])
    return out


@entry("fw_cos_for_sin", "cos(w3*f3) in part 3", ("wrong_op@sin",))
def fw_cos_for_sin(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.cos(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_exp_not_squared", "exp(a + w6): the square forgotten", ("wrong_op@square",))
def fw_exp_not_squared(x, y, w):
    e = math.exp(w[0] * x[0] + w[1] * x[1] + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_f4_f5_swapped", "q = w4*f5 + w5*f4", ("swapped_operands@q",))
def fw_f4_f5_swapped(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[4] + w[4] * x[3]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry("fw_off_by_one", "sin(w3*x[3]): f4 read for f3", ("off_by_one@x",))
def fw_off_by_one(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[3]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry(
    "fw_global_w",
    "the weights argument is named weights; the body reads the global w",
    ("global_w",),
)
def fw_global_w(x, y, weights):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry(
    "fw_global_w_no_w7", "the global w, and tanh(exp) without w7", ("global_w", "dropped_term@w7")
)
def fw_global_w_no_w7(x, y, weights):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e)
    s = _sig(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    return _out(e, t, s, t + w[8] * s, y)


@entry(
    "fw_sigmoid_sign_no_w8",
    "sigmoid as 1/(1 + e^z) of a z without w8",
    ("sign_flip@sigmoid", "dropped_term@w8"),
)
def fw_sigmoid_sign_no_w8(x, y, w):
    e = math.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = 1 / (1 + math.exp(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4])))
    return _out(e, t, s, t + w[8] * s, y)


@entry(
    "fw_numpy_no_square_dy_sign",
    "numpy, loss not squared and dy_pred's sign flipped",
    ("wrong_op@loss", "sign_flip@dy_pred"),
    shape="dict_numpy",
)
def fw_numpy_no_square_dy_sign(x, y, w):
    out = fw_numpy(x, y, w)
    out["loss"] = y - out["y_pred"]
    out["dy_pred"] = 2 * (y - out["y_pred"])
    return out
