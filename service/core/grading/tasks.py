"""The four tasks' graders: recompute the case, pick the items, grade them with the wrong versions.

Every task is graded here, training included: a training case is trained by the `Trainer` the
caller passes (the web layer's is backed by its training pool, so grading trains through the same
slots, queue and limits as /train); only if the submission fails are the wrong versions trained,
compiled, through the trainer's `variants` door (`train_mistakes`), with their steps counted up
front (`training_plan`).

Items graded (what the course's template returns):
- forward: ``exp``, ``tanh``, ``sigmoid``, ``loss``, ``dy_pred`` always (a missing one scores 0);
  ``y_pred`` only when submitted or named in ``points`` (the template never asks for it);
- backward: ``dw1`` .. ``dw9`` always;
- gradcheck: ``difference`` (the norm ratio), ``numerical`` (the 9 central differences) and
  ``per_weight`` (a per-weight comparison, numbers or booleans: always wrong by its form, and the
  diagnosis says which definition it is), each when submitted or given points;
- train: ``loss_history`` always (graded on the epochs given), ``final_weights`` when submitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from service.core.errors import NumericalOverflow
from service.core.gradcheck import check_gradient
from service.core.grading import mistakes, train_mistakes
from service.core.grading.policy import Grade, Policy, Value, Variant, grade
from service.core.graph import GRADIENT_NAMES, backward, forward
from service.core.training.loop import TrainConfig, TrainResult


class Trainer(Protocol):
    """How grading trains: the case's configurations, and the compiled wrong versions."""

    def __call__(self, configs: Sequence[TrainConfig]) -> list[TrainResult]:
        """Train configurations (the case) through the caller's slots and limits."""
        ...  # pragma: no cover


VariantRunner = Callable[[Callable[[], list[Variant]]], list[Variant]]

Submitted = Mapping[str, Value | None]

FORWARD_ITEMS = ("exp", "tanh", "sigmoid", "y_pred", "loss", "dy_pred")
GRADCHECK_ITEMS = ("difference", "numerical", "per_weight")
TRAIN_ITEMS = ("loss_history", "final_weights")
ITEMS = {
    "forward": FORWARD_ITEMS,
    "backward": GRADIENT_NAMES,
    "gradcheck": GRADCHECK_ITEMS,
    "train": TRAIN_ITEMS,
}
REQUIRED = {
    "forward": ("exp", "tanh", "sigmoid", "loss", "dy_pred"),
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
    feedback: str = "diagnosis",
) -> Grade:
    """Grade a forward pass (exp .. dy_pred) or a backward pass (dw1 .. dw9) at one point."""
    cache = forward(x, y, w)
    if task == "forward":
        everything: dict[str, Value] = dict(cache.values())

        def variants() -> Sequence[Variant]:
            return mistakes.forward_variants(cache)

        def follows(given: Mapping[str, Value]) -> Sequence[Variant]:
            return mistakes.forward_follows(cache, given)
    else:
        everything = dict(zip(GRADIENT_NAMES, backward(cache), strict=True))

        def variants() -> Sequence[Variant]:
            return mistakes.backward_variants(cache)

        def follows(given: Mapping[str, Value]) -> Sequence[Variant]:
            return mistakes.backward_follows(cache, given)

    expected = select(task, everything, submitted, points)
    return grade(
        task, expected, submitted, policy, points, variants, reveal, feedback, follows=follows
    )


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
    feedback: str = "diagnosis",
    global_point: tuple[Sequence[float], float] | None = None,
) -> Grade:
    """Grade a gradient check of gradient `analytic` (the service's own when None).

    ``per_weight`` never passes: the course's check is one number, the norm ratio; its diagnosis
    names the per-weight definition the numbers (or booleans) follow.
    """
    check = check_gradient(x, y, w, eps, analytic)
    everything: dict[str, Value] = {
        "difference": check.difference,
        "numerical": list(check.numerical),
        "per_weight": [float("nan")] * len(check.numerical),  # no per-weight answer is right
    }
    expected = select("gradcheck", everything, submitted, points)
    global_g = None
    if global_point is not None:
        try:
            global_g = mistakes.global_gradient(*global_point)
        except NumericalOverflow:
            global_g = None

    def variants() -> list[Variant]:
        return mistakes.gradcheck_variants(x, y, w, eps, check.analytic, global_g)

    graded = grade("gradcheck", expected, submitted, policy, points, variants, reveal, feedback)
    items = tuple(
        replace(i, expected=None, error=None) if i.name == "per_weight" else i for i in graded.items
    )
    return replace(graded, items=items)


def training_plan(config: TrainConfig) -> list[TrainConfig]:
    """Every run grading a training case may ask for, as configurations (for the step limits):
    the case, and one run's worth of steps per wrong version the search trains."""
    return [config, *[config] * train_mistakes.variant_count(config)]


def grade_train(
    config: TrainConfig,
    submitted: Submitted,
    train: Trainer,
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    reveal: bool = False,
    feedback: str = "diagnosis",
    run_variants: VariantRunner | None = None,
) -> Grade:
    """Train the case, grade the submitted history (and final weights); if it fails, search the
    wrong versions (compiled, through `run_variants`: the caller's slots) to name the mistake."""
    (result,) = train([config])
    everything: dict[str, Value] = {
        "loss_history": result.loss_history,
        "final_weights": result.final_weights,
    }
    expected = select("train", everything, submitted, points)

    def variants() -> list[Variant]:
        def search() -> list[Variant]:
            return train_mistakes.variants(config, result, submitted)

        return run_variants(search) if run_variants is not None else search()

    return grade("train", expected, submitted, policy, points, variants, reveal, feedback)
