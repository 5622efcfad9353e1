"""The four tasks' graders: recompute the case, pick the items, grade them with the wrong versions.

Items graded: forward's six values and backward's nine gradients always (a missing one scores 0);
gradcheck's ``difference`` and ``numerical.w1`` .. ``numerical.w9`` and train's ``final_weights``
when submitted or given points; train's ``loss_history`` always.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.core import diagnosis
from service.core.gradcheck import check_gradient
from service.core.grading import Grade, Policy, Value, Variant, grade
from service.core.graph import GRADIENT_NAMES, backward, forward
from service.core.training import TrainResult

Submitted = Mapping[str, Value | None]

TRAIN_ITEMS = ("loss_history", "final_weights")
GRADCHECK_ITEMS = ("difference", *(f"numerical.w{i}" for i in range(1, 10)))
ITEMS = {
    "forward": ("exp", "tanh", "sigmoid", "y_pred", "loss", "dy_pred"),
    "backward": GRADIENT_NAMES,
    "gradcheck": GRADCHECK_ITEMS,
    "train": TRAIN_ITEMS,
}
REQUIRED = {
    "forward": ITEMS["forward"],
    "backward": GRADIENT_NAMES,
    "gradcheck": (),
    "train": ("loss_history",),
}


def select(
    task: str,
    expected: Mapping[str, Value],
    submitted: Submitted,
    points: Mapping[str, float] | None,
) -> dict[str, Value]:
    """The expected values of the items to grade: required, submitted, or given points."""
    chosen = {*REQUIRED[task], *(points or {})}
    chosen |= {name for name, value in submitted.items() if value is not None}
    return {name: value for name, value in expected.items() if name in chosen}


def grade_point(
    task: str,
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    submitted: Submitted,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
) -> Grade:
    """Grade a forward pass (exp .. dy_pred) or a backward pass (dw1 .. dw9) at one point."""
    cache = forward(x, y, w)
    if task == "forward":
        everything: dict[str, Value] = dict(cache.values())
        variants = diagnosis.forward_variants(cache, submitted)
    else:
        everything = dict(zip(GRADIENT_NAMES, backward(cache), strict=True))
        variants = diagnosis.backward_variants(cache, submitted)
    expected = select(task, everything, submitted, points)
    return grade(task, expected, submitted, policy, points, variants, reveal)


def grade_gradcheck(
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float,
    analytic: Sequence[float] | None,
    submitted: Submitted,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
) -> Grade:
    """Grade the difference and the per-weight numerical derivatives of one gradient check."""
    check = check_gradient(x, y, w, eps, analytic)
    everything = {"difference": check.difference, **diagnosis.numerical_items(check.numerical)}
    expected = select("gradcheck", everything, submitted, points)
    variants = diagnosis.gradcheck_variants(x, y, w, eps, check.analytic, check.numerical)
    return grade("gradcheck", expected, submitted, policy, points, variants, reveal)


def grade_train(
    result: TrainResult,
    submitted: Submitted,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
    variants: Sequence[Variant] = (),
) -> Grade:
    """Grade a submitted loss history (and final weights) against the run the case describes."""
    everything: dict[str, Value] = {
        "loss_history": result.loss_history,
        "final_weights": result.final_weights,
    }
    expected = select("train", everything, submitted, points)
    return grade("train", expected, submitted, policy, points, variants, reveal)
