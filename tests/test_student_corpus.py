"""The student corpus (tests/support/students) checked against the service's own computations.

What is checked is the corpus, not the grader: every entry marked correct agrees with the
service's graph (service/core/graph.py), gradient check and reference training loop within
CORRECT_TOLERANCE on every standard case it runs on; every entry marked wrong is off by more than
WRONG_MARGIN (the service's lenient default tolerances) on at least one item of one standard case,
so it must lose points under any policy at least that strict. A gradient check that returns
per-weight values instead of the norm difference is wrong by its form; its numbers are checked
against the definition its label names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from service.core.graph import GRADIENT_NAMES
from service.core.training import registry
from service.core.training.loop import orders, train_reference
from tests.support.students import (
    LABELS,
    SHAPES,
    TASKS,
    PointCase,
    Student,
    TrainCase,
    cases_for,
    corpus,
    gradcheck,
)
from tests.support.students.cases import TORCH_CASES
from tests.support.students.oracle import (
    CORRECT_TOLERANCE,
    PER_WEIGHT_LABELS,
    applicable,
    differences,
    expected,
    is_clearly_off,
    is_off,
    pairs,
    reference_gradcheck,
    reference_point,
    within,
)
from tests.support.students.scoreboard import Outcome, answers, format_table, names_mistake, table

THRESHOLD = {"gc_booleans": 1e-7}  # the tolerance the thresholded entry tests its ratios with
ENTRIES = corpus()


def _ids(entries: Sequence[Student]) -> list[str]:
    return [s.id for s in entries]


# ---- the corpus as data -----------------------------------------------------------------------


def test_ids_are_unique_and_tasks_known() -> None:
    ids = _ids(ENTRIES)
    assert len(ids) == len(set(ids))
    assert {s.task for s in ENTRIES} == set(TASKS)


@pytest.mark.parametrize("student", ENTRIES, ids=_ids(ENTRIES))
def test_entry_is_well_formed(student: Student) -> None:
    assert student.correct == (not student.mistakes)
    assert set(student.mistakes) <= set(LABELS), set(student.mistakes) - set(LABELS)
    assert len(set(student.mistakes)) == len(student.mistakes)
    for alternative in student.same_as:
        assert set(alternative) <= set(LABELS)
    assert student.shape in SHAPES
    assert student.description
    assert "\n" not in student.description
    assert len(student.description) <= 100
    assert applicable(student), "runs on no standard case"
    if student.task == "train":
        assert student.optimizers <= {"sgd", "momentum", "adam", *TORCH_CASES}


def test_every_label_and_shape_is_used() -> None:
    assert {label for s in ENTRIES for label in s.mistakes} == set(LABELS)
    assert {s.shape for s in ENTRIES} == set(SHAPES)


def test_the_corpus_has_right_and_wrong_entries_of_every_task() -> None:
    for task in TASKS:
        assert len(corpus(task, correct=True)) >= 5
        assert len(corpus(task, correct=False)) >= 15
    assert 60 <= len(ENTRIES) <= 160


def _json_types(value: Any) -> bool:
    if isinstance(value, list):
        return all(_json_types(v) for v in value)
    return type(value) in (float, bool)


@pytest.mark.parametrize("student", ENTRIES, ids=_ids(ENTRIES))
def test_submissions_are_finite_json(student: Student) -> None:
    for case in applicable(student):
        sub = student.submission(case)
        assert sub
        assert all(_json_types(v) for v in sub.values()), sub
        json.dumps(sub, allow_nan=False)


# ---- right entries are right ---------------------------------------------------------------------


def _assert_agrees(student: Student, case: PointCase | TrainCase, sub: dict[str, Any]) -> None:
    right = expected(student, case, sub)
    tolerance = CORRECT_TOLERANCE[student.task]
    for name, value in sub.items():
        if name == "gradients":
            continue
        matched = pairs(name, value, right[name])
        assert matched is not None, (case.name, name, value)
        bad = [(s, e) for s, e in matched if not within(tolerance, s, e)]
        assert not bad, (case.name, name, bad)


@pytest.mark.parametrize("student", corpus(correct=True), ids=_ids(corpus(correct=True)))
def test_a_right_entry_agrees_with_the_service(student: Student) -> None:
    needed = {
        "forward": {"exp", "tanh", "sigmoid", "loss", "dy_pred"},
        "backward": set(GRADIENT_NAMES),
        "gradcheck": {"difference", "gradients"},
        "train": {"loss_history"},
    }[student.task]
    for case in applicable(student):
        sub = student.submission(case)
        assert needed <= set(sub), (case.name, sorted(sub))
        assert "per_weight" not in sub
        _assert_agrees(student, case, sub)


def test_right_entries_differ_in_the_last_bits_somewhere() -> None:
    """The right variants are not all the same code: some differ from the service bit-wise."""
    for task in ("forward", "backward", "train"):
        bitwise_off = set()
        for student in corpus(task, correct=True):
            for case in applicable(student):
                sub = student.submission(case)
                right = expected(student, case, sub)
                for name, value in sub.items():
                    if name in right and value != right[name]:
                        bitwise_off.add(student.id)
        assert len(bitwise_off) >= 2, (task, bitwise_off)


def test_gradcheck_of_a_wrong_gradient_reports_the_gradient_it_checked() -> None:
    (student,) = [s for s in ENTRIES if s.id == "gc_of_wrong_gradient"]
    case = cases_for("gradcheck")[0]
    sub = student.submission(case)
    right = reference_point(case)
    assert sub["gradients"][2] != pytest.approx(right["dw3"], rel=1e-3)
    assert sub["difference"] > 1e-3  # the check says "wrong gradient": that is the right answer


@pytest.mark.parametrize("student", corpus("gradcheck"), ids=_ids(corpus("gradcheck")))
def test_a_checked_gradient_is_the_notebooks_backward_unless_said(student: Student) -> None:
    wrong = student.id in gradcheck.CHECKS_A_WRONG_GRADIENT
    for case in applicable(student):
        sub = student.submission(case)
        right = reference_point(case)
        pairs = zip(sub["gradients"], (right[k] for k in GRADIENT_NAMES), strict=True)
        assert all(within(CORRECT_TOLERANCE["backward"], s, e) for s, e in pairs) != wrong


# ---- wrong entries are wrong --------------------------------------------------------------------


@pytest.mark.parametrize("student", corpus(correct=False), ids=_ids(corpus(correct=False)))
def test_a_wrong_entry_is_off_on_some_standard_case(student: Student) -> None:
    cases = applicable(student)
    assert any(is_clearly_off(student, case) for case in cases), f"{student.id} is never off"
    if not any(differences(student, case) for case in cases):  # wrong by its form only
        assert all("per_weight" in student.submission(case) for case in cases)
        assert PER_WEIGHT_LABELS & set(student.mistakes)


def test_every_output_is_right_or_wrong_and_few_only_slightly_wrong() -> None:
    """Each output is within CORRECT_TOLERANCE or off; these few are off by less than the margin."""
    slightly = {
        (s.id, c.name)
        for s in ENTRIES
        for c in applicable(s)
        if is_off(s, c) and not is_clearly_off(s, c)
    }
    assert slightly == {("fw_off_by_one", "row0_gradcheck_w")}  # sin(w3*f4) ~ sin(w3*f3), w3 tiny


def test_a_right_entry_is_never_off() -> None:
    assert not [(s.id, c.name) for s in corpus(correct=True) for c in applicable(s) if is_off(s, c)]


def _per_weight_definition(label: str, g: np.ndarray, n: np.ndarray) -> np.ndarray:
    if label == "gc_elementwise_ratio":
        return (g - n) / (g + n)
    if label == "gc_abs_ratio":
        return np.abs(g - n) / (np.abs(g) + np.abs(n))
    return n - g


PURE_PER_WEIGHT = [
    s
    for s in corpus("gradcheck", correct=False)
    if set(s.mistakes) <= PER_WEIGHT_LABELS and s.shape in ("per_weight", "ratios_g_n")
]


@pytest.mark.parametrize("student", PURE_PER_WEIGHT, ids=_ids(PURE_PER_WEIGHT))
def test_a_per_weight_check_computes_what_its_label_says(student: Student) -> None:
    (label,) = student.mistakes
    for case in applicable(student):
        sub = student.submission(case)
        g = np.array(sub["gradients"])
        n = np.array(reference_gradcheck(case, g)["numerical"])
        want = _per_weight_definition(label, g, n)
        # a ratio's rounding noise is the numerical gradient's (1e-8) over its denominator
        noise = 1e-8 / np.minimum(np.abs(g + n), np.abs(g) + np.abs(n))
        assert np.all(np.abs(np.array(sub["per_weight"]) - want) <= 1e-6 * np.abs(want) + noise)


def test_thresholded_booleans_test_the_ratios_they_say() -> None:
    (student,) = [s for s in ENTRIES if s.id == "gc_booleans"]
    seen = set()
    for case in applicable(student):
        sub = student.submission(case)
        g = np.array(sub["gradients"])
        n = np.array(reference_gradcheck(case, g)["numerical"])
        ratio = np.abs(g - n) / (np.abs(g) + np.abs(n))
        clear = np.abs(np.log10(ratio / THRESHOLD[student.id])) > 0.3  # not at the threshold
        got = np.array(sub["per_weight"])
        assert np.array_equal(got[clear], (ratio < THRESHOLD[student.id])[clear])
        seen |= set(got.tolist())
    assert seen == {True, False}  # a right gradient fails some of these per-weight tests


# ---- what is said to be the same is the same ----------------------------------------------------


SAME_AS = [
    (s, other)
    for s in ENTRIES
    for other in ENTRIES
    if other.task == s.task and other.id != s.id and other.mistakes in s.same_as
]


@pytest.mark.parametrize(("student", "other"), SAME_AS, ids=[f"{a.id}={b.id}" for a, b in SAME_AS])
def test_entries_said_to_be_equivalent_give_the_same_numbers(
    student: Student, other: Student
) -> None:
    tolerance = CORRECT_TOLERANCE[student.task]
    for case in applicable(student):
        if not other.applies(case):
            continue
        a, b = student.submission(case), other.submission(case)
        for name in set(a) & set(b):
            matched = pairs(name, a[name], b[name])
            assert matched is not None
            assert all(within(tolerance, s, e) for s, e in matched), (case.name, name)


def test_every_equivalence_with_a_counterpart_is_checked() -> None:
    pairs = {(a.id, b.id) for a, b in SAME_AS}
    assert ("bw_graph_overwrite", "bw_square_no_2") in pairs
    assert ("tr_mom_cs231n", "tr_mom_torch") in pairs
    assert ("gc_aliased", "gc_forward_over_2eps") in pairs


def test_momentum_never_stored_is_vanilla_at_a_smaller_rate() -> None:
    (student,) = [s for s in ENTRIES if s.id == "tr_mom_never_updated"]
    case = next(c for c in cases_for("train") if c.optimizer == "momentum")
    lr = case.hyper["learning_rate"] * (1 - case.hyper["beta"])
    sgd = registry.resolve("sgd", {"learning_rate": lr}).build()
    epoch_orders = orders(len(case.y), case.epochs, False, np.random.default_rng(0))
    w0 = np.array(case.initial_weights)
    result = train_reference(np.array(case.X), np.array(case.y), w0, sgd, epoch_orders)
    sub = student.submission(case)
    assert all(
        math.isclose(s, e, rel_tol=1e-10)
        for s, e in zip(sub["loss_history"], result.loss_history, strict=True)
    )


# ---- the scoreboard -----------------------------------------------------------------------------


def test_the_scoreboard_of_a_grader_that_knows_everything_is_full() -> None:
    outcomes = [
        Outcome(a, accepted=True, full=not a.wrong, named=a.student.mistakes)
        for a in answers(ENTRIES)
    ]
    rows = table(outcomes)
    assert all(count == (0 if "cannot" in name else total) for name, (count, total) in rows.items())
    assert rows["wrong answers that lose points"][1] >= 200
    assert "| correct answers that score full |" in format_table(rows)


def test_the_scoreboard_counts_what_goes_wrong() -> None:
    outcomes = [
        Outcome(a, accepted=a.student.task != "gradcheck", full=True, named=("global_w",))
        for a in answers(ENTRIES)
    ]
    rows = table(outcomes)
    gradchecks = sum(len(applicable(s)) for s in corpus("gradcheck"))
    assert (
        rows["outputs that cannot be submitted as the student's code returns them"][0] == gradchecks
    )
    assert rows["wrong answers that lose points"][0] == 0
    named = rows["wrong answers whose diagnosis names the actual mistake"][0]
    assert named == sum(
        1
        for o in outcomes
        if o.accepted and o.answer.wrong and o.answer.student.mistakes == ("global_w",)
    )
    assert named > 0


def test_names_mistake_wants_every_part_of_a_compound_or_an_equivalent() -> None:
    by_id = {s.id: s for s in ENTRIES}
    compound = by_id["bw_global_w_sin"]
    assert not names_mistake(compound, ["global_w"])
    assert names_mistake(compound, ["wrong_derivative@sin", "global_w", "sign_flip@dy_pred"])
    assert names_mistake(by_id["bw_graph_overwrite"], ["wrong_derivative@square"])
