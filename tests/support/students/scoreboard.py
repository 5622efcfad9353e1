"""Issue 11's table for a grader run over the corpus: full marks, docked, named, accepted.

A grader test walks ``answers()`` — every (entry, case) pair of the standard case set with
whether that output is wrong — grades each submission, records an ``Outcome``, and prints or
asserts ``table(outcomes)``. An output is wrong when ``oracle.is_off`` says so: a wrong entry's
output that happens to equal the right answer on a case (the global w at w = [0.1]*9) is a right
answer there, and must score full.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.students.model import Case, Student, TrainCase
from tests.support.students.oracle import applicable, is_clearly_off, is_off


@dataclass(frozen=True)
class Answer:
    """One output to grade."""

    student: Student
    case: Case
    wrong: bool  # oracle.is_off: outside CORRECT_TOLERANCE, or a per-weight comparison
    clearly: bool  # oracle.is_clearly_off: off by more than WRONG_MARGIN too


@dataclass(frozen=True)
class Outcome:
    """What the grader did with one answer."""

    answer: Answer
    accepted: bool  # the submission, as the student's code returns it, was taken (no 4xx)
    full: bool = False  # scored full marks
    named: Collection[str] = ()  # the labels the diagnosis names (in this vocabulary)


def answers(students: Iterable[Student]) -> Iterator[Answer]:
    """Every entry on every standard case it runs on."""
    for student in students:
        for case in applicable(student):
            yield Answer(student, case, is_off(student, case), is_clearly_off(student, case))


def names_mistake(student: Student, named: Collection[str]) -> bool:
    """Whether the labels named cover the entry's mistakes, or one equivalent set of them."""
    return any(set(labels) <= set(named) for labels in (student.mistakes, *student.same_as))


def table(outcomes: Iterable[Outcome]) -> dict[str, tuple[int, int]]:
    """The issue's four rows as (count, out of)."""
    rows = {
        "correct answers that score full": [0, 0],
        "wrong answers that lose points": [0, 0],
        "wrong answers whose diagnosis names the actual mistake": [0, 0],
        "outputs that cannot be submitted as the student's code returns them": [0, 0],
    }
    for o in outcomes:
        unsubmittable = rows["outputs that cannot be submitted as the student's code returns them"]
        unsubmittable[0] += not o.accepted
        unsubmittable[1] += 1
        if not o.accepted:
            continue
        if not o.answer.wrong:
            rows["correct answers that score full"][0] += o.full
            rows["correct answers that score full"][1] += 1
            continue
        rows["wrong answers that lose points"][0] += not o.full
        rows["wrong answers that lose points"][1] += 1
        named = names_mistake(o.answer.student, o.named)
        rows["wrong answers whose diagnosis names the actual mistake"][0] += named
        rows["wrong answers whose diagnosis names the actual mistake"][1] += 1
    return {name: (count, total) for name, (count, total) in rows.items()}


def format_table(rows: dict[str, tuple[int, int]]) -> str:
    """The table in the issue's markdown form."""
    lines = ["| measured | corpus |", "|---|---|"]
    for name, (count, total) in rows.items():
        share = f" ({100 * count / total:.0f}%)" if total else ""
        lines.append(f"| {name} | {count}/{total}{share} |")
    return "\n".join(lines)


def request_for(student: Student, case: Case, submission: dict[str, Any]) -> dict[str, Any]:
    """The grader's request for an answer, as a platform adapter builds it (README)."""
    if isinstance(case, TrainCase):
        body_case: dict[str, Any] = {
            "optimizer": case.optimizer,
            **case.hyper,
            "epochs": case.epochs,
            "initial_weights": list(case.initial_weights),
        }
        if case.shuffle:
            body_case |= {"shuffle": True, "seed": case.seed}
        if case.max_norm is not None:
            body_case["clip_grad_norm"] = {"max_norm": case.max_norm}
    else:
        body_case = {"row": case.row, "w": list(case.w)}
        if student.task == "gradcheck":
            body_case |= {"eps": case.eps, "gradients": submission.pop("gradients")}
    return {"task": student.task, "case": body_case, "submission": submission}


def labels_named_in(result: dict[str, Any]) -> set[str]:
    """The catalogue labels a native grade's diagnoses name."""
    return {label for item in result.get("items", ()) for label in item.get("labels", ())}


def run(
    grade_batch: Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]],
    students: Iterable[Student],
    chunk: int = 200,
) -> list[Outcome]:
    """Grade every answer through ``grade_batch`` (request bodies -> native results, None for a
    refused one) and record the outcomes."""
    todo = list(answers(students))
    outcomes: list[Outcome] = []
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        bodies = [request_for(a.student, a.case, a.student.submission(a.case)) for a in part]
        for answer, result in zip(part, grade_batch(bodies), strict=True):
            if result is None:
                outcomes.append(Outcome(answer, accepted=False))
                continue
            full = result["score"] == result["max_score"]
            outcomes.append(Outcome(answer, True, full, labels_named_in(result)))
    return outcomes
