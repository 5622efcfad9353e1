"""The grader on the student corpus (tests/support/students): issue 11's table, via /grade/batch.

Every answer of the corpus is graded as a platform would send it; the table is printed (pytest -s)
and its goals asserted: every right answer full, every wrong one docked, each output accepted,
and the actual mistake named for at least 80% of the wrong ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.students import corpus
from tests.support.students.scoreboard import Outcome, format_table, names_mistake, run, table


@pytest.fixture(scope="module")
def outcomes(client: Any) -> list[Outcome]:
    def grade_batch(bodies: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        response = client.post("/grade/batch", json={"items": bodies})
        assert response.status_code == 200, response.text
        return [e["result"] if e["gradable"] else None for e in response.json()["results"]]

    return run(grade_batch, corpus())


def test_the_scoreboard(outcomes: list[Outcome]) -> None:
    rows = table(outcomes)
    print("\n" + format_table(rows))
    full, docked, named, refused = rows.values()
    assert refused[0] == 0, [o.answer.student.id for o in outcomes if not o.accepted]
    assert full[0] == full[1], [
        (o.answer.student.id, o.answer.case.name)
        for o in outcomes
        if o.accepted and not o.answer.wrong and not o.full
    ]
    assert docked[0] == docked[1]
    assert named[0] >= 0.8 * named[1]


def test_unnamed_wrong_answers_are_listed(outcomes: list[Outcome]) -> None:
    unnamed = sorted(
        {
            o.answer.student.id
            for o in outcomes
            if o.accepted and o.answer.wrong and not names_mistake(o.answer.student, o.named)
        }
    )
    print("\nnot named:", unnamed)
