"""The mutation search of forward, backward and gradient check: anchored on the service's own
computations with no mutation, and graded against the corpus' independently written wrong code."""

from __future__ import annotations

import math
import random

import pytest

from service.core.gradcheck import numerical_gradient
from service.core.grading import mistakes, tasks
from service.core.graph import backward, forward, loss
from tests.support.students import LABELS, corpus
from tests.support.students.oracle import applicable, is_off
from tests.support.students.scoreboard import names_mistake


def _points(seed: int, count: int = 100) -> list[tuple[list[float], float, list[float]]]:
    rng = random.Random(seed)
    return [
        ([rng.uniform(-2, 2) for _ in range(5)], rng.uniform(-2, 2),
         [rng.uniform(-1, 1) for _ in range(9)])
        for _ in range(count)
    ]  # fmt: skip


def test_no_mutation_is_the_graph_itself() -> None:
    for x, y, w in _points(1):
        cache = forward(x, y, w)
        assert mistakes.forward_values(x, y, w, frozenset()) == cache.values()
        values = mistakes.backward_values(cache, frozenset())
        assert values is not None
        assert tuple(values.values()) == backward(cache)


def _changes(m: mistakes.Mutation, x: list[float], y: float, w: list[float]) -> bool:
    cache = forward(x, y, w)
    if m.task == "forward":
        return mistakes.forward_values(x, y, w, frozenset({m.key})) != cache.values()
    changed = mistakes.backward_values(cache, frozenset({m.key}))
    return changed is not None and tuple(changed.values()) != backward(cache)


def test_every_mutation_changes_some_value_and_uses_the_vocabulary() -> None:
    points = _points(2, 20)
    for m in mistakes.CATALOGUE:
        assert m.label in LABELS, m.label
        assert any(_changes(m, *point) for point in points), m.key


def test_the_unmutated_numerical_loop_is_the_service_s_gradient_check() -> None:
    for x, y, w in _points(3, 20):

        def at(v: list[float], x: list[float] = x, y: float = y) -> float:
            return loss(x, y, v)

        mine = mistakes.numerical_gradient(at, w, 1e-7, mistakes.Numerical())
        assert mine == list(numerical_gradient(x, y, w, 1e-7))


def test_pairs_are_searched_after_singles() -> None:
    cache = forward(*_points(4, 1)[0])
    sizes = [len(v.labels) for v in mistakes.backward_variants(cache)]
    assert sizes == sorted(sizes)
    assert max(sizes) == 2


WRONG_POINT_ENTRIES = [s for s in corpus(correct=False) if s.task in ("forward", "backward")]


@pytest.mark.parametrize("student", WRONG_POINT_ENTRIES, ids=lambda s: s.id)
def test_the_grader_docks_and_names_each_wrong_forward_and_backward(student) -> None:  # type: ignore[no-untyped-def]
    named = 0
    wrong = [c for c in applicable(student) if is_off(student, c)]
    for case in wrong:
        result = tasks.grade_point(student.task, case.x, case.y, case.w, student.submission(case))
        assert not result.passed, case.name
        labels = {label for item in result.items for label in item.labels}
        named += names_mistake(student, labels)
    assert named >= len(wrong) / 2, student.id


def test_a_forward_with_f1_and_f2_swapped_is_named() -> None:
    # the one catalogue entry the corpus has no forward code for, written here as a student would
    x, y, w = _points(5, 1)[0]
    e = math.exp((w[0] * x[1] + w[1] * x[0]) ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = 1 / (1 + math.exp(-(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])))
    y_pred = t + w[8] * s
    submission = {"exp": e, "tanh": t, "sigmoid": s, "loss": (y - y_pred) ** 2,
                  "dy_pred": -2 * (y - y_pred)}  # fmt: skip
    result = tasks.grade_point("forward", x, y, w, submission)
    assert not result.passed
    assert {label for i in result.items for label in i.labels} == {"swapped_operands@a"}
