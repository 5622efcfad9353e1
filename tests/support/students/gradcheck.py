"""Students' gradient_checking(x, y, w, eps): central differences against their backward.

Every check here uses the notebook's own forward and backward (which are right) unless its entry
says otherwise. The gradient a check is about (the case's ``gradients``) is the student's backward
at the case; ``submission`` adds it when the return value does not carry it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.support.students import backward as students_backward
from tests.support.students import notebook
from tests.support.students.model import PointCase, Student
from tests.support.students.notebook import backward_propagation, forward_propagation, loss

ENTRIES: list[Student] = []
CHECKS_A_WRONG_GRADIENT: set[str] = set()  # ids of the checks of a wrong backward (_wrong_own)

w = [0.1] * 9  # the notebook's global w
x0 = [
    -1.287909498957745,
    -0.12001341619804987,
    -1.4590003802772022,
    -0.6666082090210984,
    -0.14421743255530314,
]
y0 = 1.858849127371369  # the notebook's global X[0], y[0]


def _own(x, y, w):
    return notebook.gradients(x, y, w)


def _wrong_own(x, y, w):
    """The gradient of a student whose backward has sin(w3*f3) for cos(w3*f3)*f3."""
    return list(students_backward.bw_sin_no_f3(x, y, w, forward_propagation(x, y, w)).values())


def entry(
    id: str,
    description: str,
    mistakes: tuple[str, ...] = (),
    shape: str = "difference",
    same_as: tuple[tuple[str, ...], ...] = (),
    checked: Callable[..., list[float]] = _own,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(case: PointCase) -> Any:
            return fn(list(case.x), case.y, list(case.w), case.eps)

        if checked is _wrong_own:
            CHECKS_A_WRONG_GRADIENT.add(id)

        def gradient(case: PointCase) -> list[float]:
            return [float(g) for g in checked(list(case.x), case.y, list(case.w))]

        ENTRIES.append(
            Student(
                id,
                "gradcheck",
                not mistakes,
                mistakes,
                description,
                shape,
                run,
                checked=gradient,
                same_as=same_as,
            )
        )
        return fn

    return register


def _grad_vector(x, y, w):
    return np.array(list(backward_propagation(x, y, w, forward_propagation(x, y, w)).values()))


def _norm_difference(g, n):
    g, n = np.asarray(g, dtype=float), np.asarray(n, dtype=float)
    return np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))


# ---- right ------------------------------------------------------------------------------------


@entry("gc_math", "plain loops, copies of w, math.sqrt of sums of squares")
def gc_math(x, y, w, eps):
    grads = list(backward_propagation(x, y, w, forward_propagation(x, y, w)).values())
    numerical = []
    for i in range(len(w)):
        w_plus, w_minus = list(w), list(w)
        w_plus[i] += eps
        w_minus[i] -= eps
        numerical.append((loss(x, y, w_plus) - loss(x, y, w_minus)) / (2 * eps))
    num = math.sqrt(sum((g - n) ** 2 for g, n in zip(grads, numerical, strict=True)))
    den = math.sqrt(sum(g * g for g in grads)) + math.sqrt(sum(n * n for n in numerical))
    return num / den


@entry("gc_numpy", "numpy copies and np.linalg.norm; returns the dict", shape="gradcheck_dict")
def gc_numpy(x, y, w, eps):
    w = np.array(w, dtype=float)
    g = _grad_vector(x, y, w.tolist())
    n = np.zeros(9)
    for i in range(9):
        plus, minus = w.copy(), w.copy()
        plus[i] += eps
        minus[i] -= eps
        n[i] = (loss(x, y, plus) - loss(x, y, minus)) / (2 * eps)
    return {"difference": _norm_difference(g, n), "numerical": n}


@entry(
    "gc_restore",
    "perturbs w in place and restores it; returns (difference, numerical)",
    shape="difference_numerical",
)
def gc_restore(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = []
    for i in range(9):
        old = w[i]
        w[i] = old + eps
        lp = loss(x, y, w)
        w[i] = old - eps
        lm = loss(x, y, w)
        w[i] = old
        n.append((lp - lm) / (2 * eps))
    return _norm_difference(g, n), n


@entry("gc_deepcopy_dicts", "deepcopy, a dict per weight, forward dicts' loss", shape="difference")
def gc_deepcopy_dicts(x, y, w, eps):
    grads = backward_propagation(x, y, w, forward_propagation(x, y, w))
    approx = {}
    for i, key in enumerate(grads):
        wp, wm = copy.deepcopy(w), copy.deepcopy(w)
        wp[i], wm[i] = wp[i] + eps, wm[i] - eps
        approx[key] = (
            forward_propagation(x, y, wp)["loss"] - forward_propagation(x, y, wm)["loss"]
        ) / (2 * eps)
    g = np.array([grads[k] for k in grads])
    n = np.array([approx[k] for k in grads])
    return np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))


@entry(
    "gc_of_wrong_gradient",
    "a right check of a wrong backward (sin for cos in dw3)",
    checked=_wrong_own,
)
def gc_of_wrong_gradient(x, y, w, eps):
    g = np.array(
        list(students_backward.bw_sin_no_f3(x, y, w, forward_propagation(x, y, w)).values())
    )
    n = np.array(
        [
            (
                loss(x, y, [v + eps * (j == i) for j, v in enumerate(w)])
                - loss(x, y, [v - eps * (j == i) for j, v in enumerate(w)])
            )
            / (2 * eps)
            for i in range(9)
        ]
    )
    return float(np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n)))


# ---- wrong: perturbation ------------------------------------------------------------------------


@entry(
    "gc_all_at_once",
    "w + eps and w - eps on all weights together; n a scalar broadcast",
    ("gc_all_at_once",),
)
def gc_all_at_once(x, y, w, eps):
    w = np.array(w)
    n = (loss(x, y, w + eps) - loss(x, y, w - eps)) / (2 * eps)
    g = _grad_vector(x, y, w.tolist())
    return np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))


@entry(
    "gc_all_at_once_tuple",
    "all weights at once; returns (difference, [n]*9)",
    ("gc_all_at_once",),
    shape="difference_numerical",
)
def gc_all_at_once_tuple(x, y, w, eps):
    n = (loss(x, y, [v + eps for v in w]) - loss(x, y, [v - eps for v in w])) / (2 * eps)
    numerical = [n] * 9
    return _norm_difference(_grad_vector(x, y, w), numerical), numerical


@entry(
    "gc_not_restored",
    "w[i] += eps; ...; w[i] -= 2*eps and never put back",
    ("gc_not_restored",),
    shape="difference_numerical",
)
def gc_not_restored(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = []
    for i in range(9):
        w[i] += eps
        lp = loss(x, y, w)
        w[i] -= 2 * eps
        lm = loss(x, y, w)
        n.append((lp - lm) / (2 * eps))
    return _norm_difference(g, n), n


@entry(
    "gc_restored_wrongly",
    "restores with w[i] -= eps instead of += eps",
    ("gc_restored_wrongly",),
    shape="difference_numerical",
)
def gc_restored_wrongly(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = []
    for i in range(9):
        w[i] += eps
        lp = loss(x, y, w)
        w[i] -= 2 * eps
        lm = loss(x, y, w)
        w[i] -= eps
        n.append((lp - lm) / (2 * eps))
    return _norm_difference(g, n), n


@entry(
    "gc_aliased",
    "w_plus = w; w_minus = w: one list, so L(w - eps) is taken at w",
    ("gc_aliased_copy",),
    shape="gradcheck_dict",
    same_as=(("gc_forward_difference", "gc_wrong_divisor"),),
)
def gc_aliased(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = []
    for i in range(9):
        w_plus = w
        w_plus[i] += eps
        lp = loss(x, y, w_plus)
        w_minus = w
        w_minus[i] -= eps
        lm = loss(x, y, w_minus)
        n.append((lp - lm) / (2 * eps))
    return {"difference": _norm_difference(g, n), "numerical": n}


# ---- wrong: difference and divisor --------------------------------------------------------------


def _one_sided(x, y, w, eps, sign):
    base = loss(x, y, w)
    out = []
    for i in range(9):
        moved = list(w)
        moved[i] += sign * eps
        out.append(
            (loss(x, y, moved) - base) / eps if sign > 0 else (base - loss(x, y, moved)) / eps
        )
    return out


@entry(
    "gc_forward_difference",
    "(L(w + eps) - L(w)) / eps",
    ("gc_forward_difference",),
    shape="difference_numerical",
)
def gc_forward_difference(x, y, w, eps):
    n = _one_sided(x, y, w, eps, 1)
    return _norm_difference(_grad_vector(x, y, w), n), n


@entry(
    "gc_backward_difference",
    "(L(w) - L(w - eps)) / eps",
    ("gc_backward_difference",),
    shape="gradcheck_dict",
)
def gc_backward_difference(x, y, w, eps):
    n = _one_sided(x, y, w, eps, -1)
    return {"difference": _norm_difference(_grad_vector(x, y, w), n), "numerical": n}


@entry(
    "gc_base_overwritten",
    "forward difference whose base L(w) is overwritten each step",
    ("gc_forward_difference", "gc_base_overwritten"),
    shape="difference_numerical",
)
def gc_base_overwritten(x, y, w, eps):
    J = loss(x, y, w)
    n = []
    for i in range(9):
        wp = list(w)
        wp[i] += eps
        J_plus = loss(x, y, wp)
        n.append((J_plus - J) / eps)
        J = J_plus
    return _norm_difference(_grad_vector(x, y, w), n), n


@entry(
    "gc_divide_by_eps",
    "the central difference divided by eps",
    ("gc_wrong_divisor",),
    shape="difference_numerical",
)
def gc_divide_by_eps(x, y, w, eps):
    n = []
    for i in range(9):
        wp, wm = list(w), list(w)
        wp[i] += eps
        wm[i] -= eps
        n.append((loss(x, y, wp) - loss(x, y, wm)) / eps)
    return _norm_difference(_grad_vector(x, y, w), n), n


@entry(
    "gc_forward_over_2eps",
    "(L(w + eps) - L(w)) / (2*eps)",
    ("gc_forward_difference", "gc_wrong_divisor"),
    shape="difference_numerical",
    same_as=(("gc_aliased_copy",),),
)
def gc_forward_over_2eps(x, y, w, eps):
    n = [v / 2 for v in _one_sided(x, y, w, eps, 1)]
    return _norm_difference(_grad_vector(x, y, w), n), n


# ---- wrong: comparison --------------------------------------------------------------------------


def _central(x, y, w, eps):
    n = np.zeros(9)
    for i in range(9):
        wp, wm = np.array(w, dtype=float), np.array(w, dtype=float)
        wp[i] += eps
        wm[i] -= eps
        n[i] = (loss(x, y, wp) - loss(x, y, wm)) / (2 * eps)
    return n


@entry(
    "gc_elementwise",
    "(g - n)/(g + n) per weight, as an array",
    ("gc_elementwise_ratio",),
    shape="per_weight",
)
def gc_elementwise(x, y, w, eps):
    g, n = _grad_vector(x, y, w), _central(x, y, w, eps)
    return (g - n) / (g + n)


@entry(
    "gc_elementwise_mean",
    "the mean of (g - n)/(g + n), checking a backward with sin for cos",
    ("gc_elementwise_ratio",),
    checked=_wrong_own,
)
def gc_elementwise_mean(x, y, w, eps):
    g, n = np.array(_wrong_own(x, y, w)), _central(x, y, w, eps)
    return np.mean((g - n) / (g + n))


@entry(
    "gc_abs_ratio", "|g - n|/(|g| + |n|) per weight, a list", ("gc_abs_ratio",), shape="per_weight"
)
def gc_abs_ratio(x, y, w, eps):
    g, n = _grad_vector(x, y, w), _central(x, y, w, eps)
    return [abs(gi - ni) / (abs(gi) + abs(ni)) for gi, ni in zip(g, n, strict=True)]


@entry("gc_raw", "numerical - analytic per weight", ("gc_raw_difference",), shape="per_weight")
def gc_raw(x, y, w, eps):
    return _central(x, y, w, eps) - _grad_vector(x, y, w)


@entry(
    "gc_booleans",
    "9 booleans: |g - n|/(|g| + |n|) < 1e-7",
    ("gc_abs_ratio", "gc_thresholded"),
    shape="per_weight_bool",
)
def gc_booleans(x, y, w, eps):
    g, n = _grad_vector(x, y, w), _central(x, y, w, eps)
    return np.abs(g - n) / (np.abs(g) + np.abs(n)) < 1e-7


@entry(
    "gc_isclose", "9 booleans from np.isclose(g, n)", ("gc_thresholded",), shape="per_weight_bool"
)
def gc_isclose(x, y, w, eps):
    return [bool(b) for b in np.isclose(_grad_vector(x, y, w), _central(x, y, w, eps))]


@entry(
    "gc_ratios_g_n",
    "returns ((g - n)/(g + n), g, n)",
    ("gc_elementwise_ratio",),
    shape="ratios_g_n",
)
def gc_ratios_g_n(x, y, w, eps):
    g, n = _grad_vector(x, y, w), _central(x, y, w, eps)
    return (g - n) / (g + n), g, n


@entry(
    "gc_norm_of_sum",
    "||g - n|| / ||g + n||, checking a backward with sin for cos",
    ("gc_norm_of_sum",),
    checked=_wrong_own,
)
def gc_norm_of_sum(x, y, w, eps):
    g, n = np.array(_wrong_own(x, y, w)), _central(x, y, w, eps)
    return np.linalg.norm(g - n) / np.linalg.norm(g + n)


@entry(
    "gc_unnormalised",
    "||g - n|| not divided by anything, checking a backward with sin for cos",
    ("gc_unnormalised",),
    checked=_wrong_own,
)
def gc_unnormalised(x, y, w, eps):
    return float(np.linalg.norm(np.array(_wrong_own(x, y, w)) - _central(x, y, w, eps)))


# ---- wrong: whose gradient, and compounds ------------------------------------------------------


@entry(
    "gc_whose_gradient",
    "compares n with the gradient at the notebook's global X[0], w",
    ("gc_whose_gradient",),
    shape="difference_numerical",
)
def gc_whose_gradient(x, y, weights, eps):
    g = _grad_vector(x0, y0, w)
    n = _central(x, y, weights, eps)
    return _norm_difference(g, n), n


@entry(
    "gc_not_restored_forward",
    "forward difference with w[i] += eps never undone",
    ("gc_not_restored", "gc_forward_difference"),
    shape="difference_numerical",
)
def gc_not_restored_forward(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = []
    for i in range(9):
        base = loss(x, y, w)
        w[i] += eps
        n.append((loss(x, y, w) - base) / eps)
    return _norm_difference(g, n), n


@entry(
    "gc_booleans_forward",
    "9 booleans of forward-difference abs ratios < 1e-5",
    ("gc_forward_difference", "gc_abs_ratio", "gc_thresholded"),
    shape="per_weight_bool",
)
def gc_booleans_forward(x, y, w, eps):
    g, n = _grad_vector(x, y, w), np.array(_one_sided(x, y, w, eps, 1))
    return list(np.abs(g - n) / (np.abs(g) + np.abs(n)) < 1e-5)


@entry(
    "gc_ratios_all_at_once",
    "returns ((g - n)/(g + n), g, n) with n all weights at once",
    ("gc_all_at_once", "gc_elementwise_ratio"),
    shape="ratios_g_n",
)
def gc_ratios_all_at_once(x, y, w, eps):
    g = _grad_vector(x, y, w)
    n = np.full(
        9, (loss(x, y, [v + eps for v in w]) - loss(x, y, [v - eps for v in w])) / (2 * eps)
    )
    return (g - n) / (g + n), g, n
