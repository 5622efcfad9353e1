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

Another graph than the course's (forward, backward, gradcheck): its reported nodes, loss, dy_pred
(y_pred when submitted), d<weight>, lengths and names checked against it (InvalidInput, 422); its
wrong versions come from the search generated on its tape (graph_mistakes). Training on another
graph: the case trains it, its wrong versions are the catalogue's graph-independent entries,
compiled around the graph's gradient (train_mistakes), final_weights has its length. (Over 250
lines: four tasks' graders, the course's and any graph's.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Protocol

from service.core.errors import InvalidInput, NumericalOverflow
from service.core.gradcheck import check_gradient
from service.core.grading import graph_mistakes, mistakes, train_mistakes
from service.core.grading.policy import Grade, Policy, Value, Variant, grade
from service.core.graph import GRADIENT_NAMES, Cache, backward, forward
from service.core.graphs import evaluate
from service.core.graphs import gradcheck as graph_check
from service.core.graphs.definition import OUTPUT, Graph
from service.core.graphs.registry import is_course
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
    required: Sequence[str] | None = None,
) -> dict[str, Value]:
    """The expected values of the items to grade: required, submitted, or given points."""
    chosen = {*(REQUIRED[task] if required is None else required), *(points or {})}
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
    graph: Graph | None = None,
) -> Grade:
    """Grade a forward pass (exp .. dy_pred) or a backward pass (dw1 .. dw9) at one point.

    ``graph``: another graph than the course's (graded by ``grade_graph_point``).
    """
    if graph is not None and not is_course(graph):
        return grade_graph_point(
            graph, task, x, y, w, submitted, policy, points, reveal, feedback
        )  # fmt: skip
    cache, everything = _course_point(task, tuple(x), float(y), tuple(w))
    if task == "forward":

        def variants() -> Sequence[Variant]:
            return mistakes.forward_variants(cache)

        def follows(given: Mapping[str, Value]) -> Sequence[Variant]:
            return mistakes.forward_follows(cache, given)
    else:

        def variants() -> Sequence[Variant]:
            return mistakes.backward_variants(cache)

        def follows(given: Mapping[str, Value]) -> Sequence[Variant]:
            return mistakes.backward_follows(cache, given)

    expected = select(task, everything, submitted, points)
    return grade(
        task, expected, submitted, policy, points, variants, reveal, feedback, follows=follows
    )


@lru_cache(maxsize=512)
def _course_point(
    task: str, x: tuple[float, ...], y: float, w: tuple[float, ...]
) -> tuple[Cache, dict[str, Value]]:
    """The course graph's cache and the task's right values at a point, computed once per
    distinct case (a class's submissions share it). Callers copy before changing them."""
    cache = forward(x, y, w)
    if task == "forward":
        return cache, dict(cache.values())
    return cache, dict(zip(GRADIENT_NAMES, backward(cache), strict=True))


def graph_items(graph: Graph, task: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A graph's (items, required items) of a point task or a gradient check.

    forward: every reported node, y_pred, loss, dy_pred (y_pred only when submitted or given
    points); backward: d<weight> for each weight; gradcheck: as for the course.
    """
    if task == "forward":
        nodes = tuple(n for n in graph.reported if n != OUTPUT)
        return (*nodes, OUTPUT, "loss", "dy_pred"), (*nodes, "loss", "dy_pred")
    if task == "backward":
        names = tuple(f"d{w}" for w in graph.weights)
        return names, names
    return GRADCHECK_ITEMS, ()


def check_items(
    items: Sequence[str], submitted: Submitted, points: Mapping[str, float] | None
) -> None:
    """InvalidInput (422) naming the items when a submission or `points` names another."""
    for where, names in (("submission", submitted), ("points", points or {})):
        unknown = sorted(n for n in names if n not in items)
        if unknown:
            raise InvalidInput(
                f"{where}: unknown item(s) {', '.join(unknown[:10])}; this graph's items are "
                + ", ".join(items[:40])
            )


def grade_graph_point(
    graph: Graph,
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
    """Grade a forward or backward pass of any graph, its wrong versions generated from the
    graph's tape (graph_mistakes)."""
    items, required = graph_items(graph, task)
    check_items(items, submitted, points)
    key = graph_mistakes._Key(graph)
    everything = _graph_point(task, key, tuple(map(float, x)), float(y), tuple(map(float, w)))
    if task == "forward":

        def variants() -> Sequence[Variant]:
            return graph_mistakes.forward_variants(graph, x, y, w)
    else:

        def variants() -> Sequence[Variant]:
            return graph_mistakes.backward_variants(graph, x, y, w)

    expected = select(task, everything, submitted, points, required)
    return grade(task, expected, submitted, policy, points, variants, reveal, feedback)


@lru_cache(maxsize=512)
def _graph_point(
    task: str, key: graph_mistakes._Key, x: tuple[float, ...], y: float, w: tuple[float, ...]
) -> dict[str, Value]:
    """A graph's right values of the task at a point, computed once per distinct case (as
    _course_point; callers copy before changing them)."""
    result = evaluate.forward(key.graph, x, y, w)
    if task == "forward":
        return dict(result.reported())
    return dict(evaluate.backward(result, check_inputs=False).gradients)


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
    graph: Graph | None = None,
) -> Grade:
    """Grade a gradient check of gradient `analytic` (the service's own when None).

    ``per_weight`` never passes: the course's check is one number, the norm ratio; its diagnosis
    names the per-weight definition the numbers (or booleans) follow. ``graph``: another graph
    than the course's (its check is service/core/graphs/gradcheck.py's; the global point is the
    case's x and y at w = [0.1]*n).
    """
    loss: Callable[[Sequence[float]], float] | None = None
    if graph is not None and not is_course(graph):
        check_lengths(len(graph.weights), submitted, analytic)
        other = graph_check.check(graph, x, y, w, eps, analytic)
        g, n = [r.analytic for r in other.weights], [r.numerical for r in other.weights]
        difference = other.difference
        the_graph = graph

        def loss(v: Sequence[float]) -> float:
            return evaluate.loss(the_graph, x, y, v)

        global_point = None
        global_g = _graph_global_gradient(graph, x, y)
    else:
        check = check_gradient(x, y, w, eps, analytic)
        g, n, difference = list(check.analytic), list(check.numerical), check.difference
        global_g = None
        if global_point is not None:
            try:
                global_g = mistakes.global_gradient(*global_point)
            except NumericalOverflow:
                global_g = None
    everything: dict[str, Value] = {
        "difference": difference,
        "numerical": n,
        "per_weight": [float("nan")] * len(n),  # no per-weight answer is right
    }
    expected = select("gradcheck", everything, submitted, points)

    def variants() -> list[Variant]:
        return mistakes.gradcheck_variants(x, y, w, eps, g, global_g, loss=loss)

    graded = grade("gradcheck", expected, submitted, policy, points, variants, reveal, feedback)
    items = tuple(
        replace(i, expected=None, error=None) if i.name == "per_weight" else i for i in graded.items
    )
    return replace(graded, items=items)


def _graph_global_gradient(graph: Graph, x: Sequence[float], y: float) -> list[float] | None:
    try:
        at = evaluate.forward(graph, x, y, [graph_mistakes.GLOBAL] * len(graph.weights))
        return list(evaluate.backward(at, check_inputs=False).gradients.values())
    except NumericalOverflow:
        return None


def check_lengths(n: int, submitted: Submitted, analytic: Sequence[float] | None) -> None:
    """InvalidInput (422) naming the item whose length is not the graph's number of weights."""
    given = {**submitted, "gradients": analytic}
    for name in ("numerical", "per_weight", "gradients"):
        value = given.get(name)
        if isinstance(value, list) and len(value) != n:
            raise InvalidInput(
                f"'{name}' has {len(value)} values; the graph takes {n} (one per weight)"
            )  # fmt: skip


def check_weights(n: int, submitted: Submitted) -> None:
    """InvalidInput (422) when submitted final weights are not one per weight of the graph."""
    value = submitted.get("final_weights")
    if isinstance(value, list) and len(value) != n:
        raise InvalidInput(
            f"'final_weights' has {len(value)} values; the graph takes {n} (one per weight)"
        )


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
    wrong versions (compiled, through `run_variants`: the caller's slots) to name the mistake.

    Another graph than the course's (``config.graph``): the case trains that graph, the search
    its wrong versions (every catalogue entry but the course's backward mistakes), and
    ``final_weights`` has its number of weights (InvalidInput, 422, before any training).
    """
    if config.graph is not None:
        check_items(TRAIN_ITEMS, submitted, points)
        check_weights(len(config.graph.weights), submitted)
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
