"""A corpus of realistic student code for the four tasks, with what each one gets wrong.

``corpus()`` lists the entries (``model.Student``); ``cases_for(task)`` the standard cases to run
them on. See README.md in this folder for the label vocabulary and how a grader test uses it.
"""

from __future__ import annotations

from functools import lru_cache

from tests.support.students import backward, forward, gradcheck, train
from tests.support.students.cases import (
    cases_for,
    gradcheck_cases,
    point_cases,
    train_cases,
)
from tests.support.students.model import (
    LABELS,
    SHAPES,
    TASKS,
    PointCase,
    Student,
    TrainCase,
    jsonable,
    submit,
)

__all__ = [
    "LABELS",
    "SHAPES",
    "TASKS",
    "PointCase",
    "Student",
    "TrainCase",
    "cases_for",
    "corpus",
    "gradcheck_cases",
    "jsonable",
    "point_cases",
    "submit",
    "train_cases",
]


@lru_cache(maxsize=1)
def _all() -> tuple[Student, ...]:
    return (*forward.ENTRIES, *backward.ENTRIES, *gradcheck.ENTRIES, *train.ENTRIES)


def corpus(task: str | None = None, correct: bool | None = None) -> tuple[Student, ...]:
    """The entries, optionally of one task, and only the right (or only the wrong) ones."""
    return tuple(
        s
        for s in _all()
        if (task is None or s.task == task) and (correct is None or s.correct == correct)
    )
