"""Response models of /grade and /grade/batch: the native shape, Gradescope's and PrairieLearn's.

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.api.schemas.base import Schema
from service.api.schemas.problem import FieldError

Numbers = float | list[float] | None
PolicyKind = Literal["exact", "decimals", "relabs"]


class ItemFeedback(Schema):
    """The verdict on one item."""

    name: str = Field(description="The item: a forward value, a gradient, difference, ....")
    passed: bool = Field(description="Whether the policy accepts the submitted value.")
    points: float = Field(description="Points earned: max_points if passed, else 0.")
    max_points: float = Field(description="Points the item is worth.")
    submitted: Numbers = Field(description="The submitted value; null when missing.")
    expected: Numbers = Field(description="The expected value; null unless reveal_expected.")
    error: float | None = Field(
        description="|submitted - expected| (largest over a list's common entries); null unless "
        "reveal_expected."
    )
    rule: str = Field(description="The comparison rule that decided.")
    diagnosis: str | None = Field(
        description="Id of the known mistake the submission matches, if any: catalogue labels "
        "joined by '+' (a compound explanation), e.g. global_w+dropped_term@w7."
    )
    labels: list[str] = Field(
        description="The diagnosis' catalogue labels, one per elementary mistake; empty when "
        "none matches (or with feedback 'verdict')."
    )
    first_mismatch: int | None = Field(
        description="Lists: the 1-based position (epoch) where it first leaves tolerance; null "
        "unless reveal_expected."
    )
    message: str = Field(description="Feedback for the student, in words.")


class AppliedPolicy(Schema):
    """The policy used, every field resolved."""

    kind: PolicyKind = Field(description="exact, decimals or relabs.")
    decimals: int = Field(description="Digits compared by 'decimals'.")
    rtol: float = Field(description="Relative tolerance of 'relabs'.")
    atol: float = Field(description="Absolute tolerance of 'relabs'.")


class Provenance(Schema):
    """What a regrade must match to reproduce this answer."""

    service_version: str = Field(description="Version of backprop-service that graded.")
    dataset_sha256: str = Field(description="sha256 of the built-in dataset file.")


class NativeGrade(Provenance):
    """This service's own grade shape."""

    format: Literal["native"] = Field(description="native.")
    task: str = Field(description="The task graded.")
    score: float = Field(description="Points earned.")
    max_score: float = Field(description="Points available.")
    fraction: float = Field(ge=0, le=1, description="score / max_score.")
    passed: bool = Field(description="Whether every item passed.")
    policy: AppliedPolicy = Field(description="The comparison policy used.")
    items: list[ItemFeedback] = Field(description="One verdict per graded item.")


class GradescopeTest(Schema):
    """One test of Gradescope's results.json."""

    name: str = Field(description="The item.")
    score: float = Field(description="Points earned.")
    max_score: float = Field(description="Points available.")
    status: Literal["passed", "failed"] = Field(description="passed or failed.")
    output: str = Field(description="Feedback for the student.")
    visibility: Literal["visible"] = Field(description="Shown to the student.")


class GradescopeExtra(Provenance):
    """results.json's extra_data: what Gradescope stores without showing."""

    task: str = Field(description="The task graded.")
    max_score: float = Field(description="Points available (Gradescope reads it per test).")


class GradescopeResults(Schema):
    """Gradescope's autograder results.json."""

    score: float = Field(description="Points earned.")
    max_score: float = Field(
        description="Points available (the sum of the tests' max_score; read by platforms that "
        "want the total next to the score)."
    )
    output: str = Field(description="Summary shown above the tests.")
    visibility: Literal["visible"] = Field(description="Shown to the student.")
    stdout_visibility: Literal["hidden"] = Field(description="No stdout is produced.")
    tests: list[GradescopeTest] = Field(description="One test per graded item.")
    extra_data: GradescopeExtra = Field(description="Task, max score, version and dataset hash.")


class PrairieLearnTest(Schema):
    """One test of PrairieLearn's external grader results."""

    name: str = Field(description="The item.")
    description: str = Field(description="The rule that decided.")
    points: float = Field(description="Points earned.")
    max_points: float = Field(description="Points available.")
    message: str = Field(description="Feedback for the student.")


class PrairieLearnResults(Provenance):
    """PrairieLearn's external grader results."""

    gradable: bool = Field(description="Always true here: the submission was graded.")
    score: float = Field(ge=0, le=1, description="Fraction of the points earned, 0..1.")
    message: str = Field(description="Summary shown to the student.")
    tests: list[PrairieLearnTest] = Field(description="One test per graded item.")


GradeResponse = NativeGrade | GradescopeResults | PrairieLearnResults


class BatchEntry(Schema):
    """The outcome for one item of a batch."""

    index: int = Field(description="0-based position in the batch.")
    gradable: bool = Field(description="false when the item could not be graded.")
    result: GradeResponse | None = Field(description="The grade, in the item's format.")
    reason: str | None = Field(description="Why it could not be graded.")
    errors: list[FieldError] | None = Field(description="Its invalid fields, if any.")


class GradeBatchResponse(Provenance):
    """One entry per item, in order."""

    results: list[BatchEntry] = Field(description="One entry per item, in the items' order.")
    graded: int = Field(description="Items graded.")
    not_gradable: int = Field(description="Items that could not be graded.")
