"""What the corpus' entries should return, from the service's own computations.

The reference for every item: the graph (service/core/graph.py) for forward and backward values,
the service's gradient check (given the gradient the student checked) for gradcheck, and the
readable reference training loop (service/core/training.train_reference) for training. A grader
test uses ``is_off(student, case)`` to know on which cases a wrong entry really is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from service.core.gradcheck import check_gradient
from service.core.graph import GRADIENT_NAMES, backward, forward
from service.core.training import registry
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainResult, initial_weights, orders, train_reference
from tests.support.students.cases import cases_for
from tests.support.students.model import PointCase, Student, TrainCase

# (rtol, atol): |submitted - expected| <= max(atol, rtol * |expected|).
# forward/backward: a faithful float64 implementation is within a few ulps (1e-15 relative); the
# atol covers values that are 0 (row 1 at w = 1: loss exactly 0). gradcheck: the central
# difference at eps 1e-7 carries about 1e-9 of rounding per entry, whatever the implementation.
# train: 3 epochs written another way drift by about 1e-15.
CORRECT_TOLERANCE = {
    "forward": (1e-12, 1e-15),
    "backward": (1e-12, 1e-15),
    "gradcheck": (1e-6, 1e-8),
    "train": (1e-10, 1e-15),
}
# What a wrong entry must be off by (on one item of one case): the service's default tolerances.
WRONG_MARGIN = {
    "forward": (1e-6, 1e-9),
    "backward": (1e-6, 1e-9),
    "gradcheck": (1e-6, 1e-8),
    "train": (1e-6, 1e-10),
}
# A gradient check that reports these per-weight comparisons is wrong by its form: the course's
# check is the norm ratio ||g - n|| / (||g|| + ||n||).
PER_WEIGHT_LABELS = frozenset(
    {"gc_elementwise_ratio", "gc_abs_ratio", "gc_raw_difference", "gc_thresholded"}
)


def applicable(student: Student) -> list[PointCase | TrainCase]:
    """The standard cases the entry runs on."""
    return [c for c in cases_for(student.task) if student.applies(c)]


@cache
def reference_point(case: PointCase) -> dict[str, Any]:
    cache = forward(case.x, case.y, case.w)
    return {
        **{k: float(v) for k, v in cache.values().items()},
        **dict(zip(GRADIENT_NAMES, map(float, backward(cache)), strict=True)),
    }


def reference_gradcheck(case: PointCase, gradients: Sequence[float]) -> dict[str, Any]:
    check = check_gradient(case.x, case.y, case.w, case.eps, gradients)
    return {"difference": check.difference, "numerical": list(check.numerical)}


def reference_train(case: TrainCase) -> TrainResult:
    if case.name not in _TRAINED:
        _TRAINED[case.name] = _train(case)
    return _TRAINED[case.name]


_TRAINED: dict[str, TrainResult] = {}


def _train(case: TrainCase) -> TrainResult:
    clipping = None if case.max_norm is None else Clipping(max_norm=case.max_norm)
    optimizer = registry.resolve(case.optimizer, dict(case.hyper), clipping).build()
    X, y = np.array(case.X), np.array(case.y)
    _, rng = initial_weights(case.seed)  # the orders come after the drawn weights
    epoch_orders = orders(len(y), case.epochs, case.shuffle, rng)
    return train_reference(X, y, np.array(case.initial_weights), optimizer, epoch_orders)


def expected(student: Student, case: PointCase | TrainCase, sub: dict[str, Any]) -> dict[str, Any]:
    """The right value of every item the submission has that has one."""
    if isinstance(case, TrainCase):
        result = reference_train(case)
        return {"loss_history": result.loss_history, "final_weights": result.final_weights}
    if student.task == "gradcheck":
        return reference_gradcheck(case, sub["gradients"])
    return reference_point(case)


def pairs(name: str, submitted: Any, right: Any) -> list[tuple[float, float]] | None:
    """Entries side by side; None when the shapes cannot be the same answer."""
    s = submitted if isinstance(submitted, list) else [submitted]
    r = right if isinstance(right, list) else [right]
    prefix = name == "loss_history" and 1 <= len(s) <= len(r)
    if len(s) != len(r) and not prefix:
        return None
    return list(zip(s, r, strict=False))


def within(tolerance: tuple[float, float], s: float, e: float) -> bool:
    """|s - e| <= max(atol, rtol * |e|) for tolerance (rtol, atol)."""
    rtol, atol = tolerance
    return abs(s - e) <= max(atol, rtol * abs(e))


def differences(
    student: Student, case: PointCase | TrainCase, tolerance: tuple[float, float] | None = None
) -> list[str]:
    """The items off by more than the tolerance (WRONG_MARGIN's by default), or of another shape."""
    tolerance = tolerance or WRONG_MARGIN[student.task]
    sub = student.submission(case)
    right = expected(student, case, sub)
    off = []
    for name, value in sub.items():
        if name == "gradients" or name not in right:
            continue
        matched = pairs(name, value, right[name])
        if matched is None or not all(within(tolerance, s, e) for s, e in matched):
            off.append(name)
    return off


def _wrong_form(student: Student, case: PointCase | TrainCase) -> bool:
    return "per_weight" in student.submission(case) and bool(
        PER_WEIGHT_LABELS & set(student.mistakes)
    )


def is_off(student: Student, case: PointCase | TrainCase) -> bool:
    """Whether the entry's output for the case is a wrong answer, which must lose points.

    Some item is outside CORRECT_TOLERANCE (no faithful float64 implementation is that far off),
    or a gradient check reports a per-weight comparison (wrong by its form).
    """
    return bool(differences(student, case, CORRECT_TOLERANCE[student.task])) or _wrong_form(
        student, case
    )


def is_clearly_off(student: Student, case: PointCase | TrainCase) -> bool:
    """is_off, and off by more than WRONG_MARGIN (the service's lenient defaults) too.

    The outputs that are off but not clearly (a wrong formula whose effect is tiny at tiny
    weights) are wrong answers that only a policy stricter than WRONG_MARGIN can dock.
    """
    return bool(differences(student, case)) or _wrong_form(student, case)
