"""The four tasks' graders: recompute the case, pick the items, grade them with the wrong versions.

Every task is graded here, training included: a training case is trained by the `Trainer` the
caller passes (the web layer's is backed by its training pool, so grading trains through the same
slots, queue and limits as /train), first the case, then, only if the submission fails, the wrong
versions that are other configurations (`training_plan` lists them all, for limits checked up
front).

Items graded: forward's six values and backward's nine gradients always (a missing one scores 0);
gradcheck's ``difference`` and ``numerical.w1`` .. ``numerical.w9`` and train's ``final_weights``
when submitted or given points; train's ``loss_history`` always.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from service.core.gradcheck import check_gradient
from service.core.grading import mistakes, train_mistakes
from service.core.grading.policy import Grade, Policy, Value, Variant, grade
from service.core.graph import GRADIENT_NAMES, backward, forward
from service.core.training.loop import TrainConfig, TrainResult

Trainer = Callable[[Sequence[TrainConfig]], list[TrainResult]]

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
        variants = mistakes.forward_variants(cache, submitted)
    else:
        everything = dict(zip(GRADIENT_NAMES, backward(cache), strict=True))
        variants = mistakes.backward_variants(cache, submitted)
    expected = select(task, everything, submitted, points)
    return grade(task, expected, submitted, policy, points, variants, reveal)


def grade_gradcheck(
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float,
    analytic: Sequence[float] | None,
    difference: float | None,
    numerical: Sequence[float] | None,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
) -> Grade:
    """Grade the difference and the per-weight numerical derivatives of one gradient check."""
    submitted: dict[str, Value | None] = {"difference": difference}
    if numerical is not None:
        submitted |= mistakes.numerical_items(numerical)
    check = check_gradient(x, y, w, eps, analytic)
    everything = {"difference": check.difference, **mistakes.numerical_items(check.numerical)}
    expected = select("gradcheck", everything, submitted, points)
    variants = mistakes.gradcheck_variants(x, y, w, eps, check.analytic, check.numerical)
    return grade("gradcheck", expected, submitted, policy, points, variants, reveal)


def training_plan(config: TrainConfig) -> list[TrainConfig]:
    """Every run grading a training case may ask its trainer for: the case, then its variants."""
    return [config, *(c for _, _, c in train_mistakes.config_variants(config))]


def grade_train(
    config: TrainConfig,
    submitted: Submitted,
    train: Trainer,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
) -> Grade:
    """Train the case, grade the submitted history (and final weights); if it fails, train the
    wrong versions and grade again so that the feedback can name the mistake."""
    (result,) = train([config])
    first = _grade_run(result, submitted, policy, points, reveal)
    if first.passed:
        return first
    alternatives = train_mistakes.config_variants(config)
    results = train([c for _, _, c in alternatives]) if alternatives else []
    variants = [
        train_mistakes.as_variant(name, explanation, run)
        for (name, explanation, _), run in zip(alternatives, results, strict=True)
    ]
    variants += train_mistakes.loop_variants(config)
    return _grade_run(result, submitted, policy, points, reveal, variants)


def _grade_run(
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
