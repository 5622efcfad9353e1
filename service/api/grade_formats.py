"""A core Grade in the platform's format: native, Gradescope's results.json, PrairieLearn's.

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

from service import __version__
from service.api.schemas.grade_results import (
    GradescopeResults,
    NativeGrade,
    PrairieLearnResults,
)
from service.core.dataset import load_dataset
from service.core.grading.policy import Grade

GradeResponse = NativeGrade | GradescopeResults | PrairieLearnResults


def provenance() -> dict[str, str]:
    """The service version and dataset hash every grade carries."""
    return {"service_version": __version__, "dataset_sha256": load_dataset().sha256}


def _summary(grade: Grade) -> str:
    right = sum(item.passed for item in grade.items)
    return (
        f"{grade.task}: {right} of {len(grade.items)} items correct, "
        f"{grade.score:g} of {grade.max_score:g} points."
    )


def render(fmt: str, grade: Grade) -> GradeResponse:
    """The grade in the requested format."""
    fraction = grade.score / grade.max_score if grade.max_score else 0.0
    if fmt == "gradescope":
        tests = [
            {
                "name": i.name,
                "score": i.points,
                "max_score": i.max_points,
                "status": "passed" if i.passed else "failed",
                "output": i.message,
                "visibility": "visible",
            }
            for i in grade.items
        ]
        extra = {"task": grade.task, "max_score": grade.max_score, **provenance()}
        return GradescopeResults.model_validate(
            {
                "score": grade.score,
                "max_score": grade.max_score,
                "output": _summary(grade),
                "visibility": "visible",
                "stdout_visibility": "hidden",
                "tests": tests,
                "extra_data": extra,
            }
        )
    if fmt == "prairielearn":
        tests = [
            {
                "name": i.name,
                "description": i.rule,
                "points": i.points,
                "max_points": i.max_points,
                "message": i.message,
            }
            for i in grade.items
        ]
        return PrairieLearnResults.model_validate(
            {
                "gradable": True,
                "score": fraction,
                "message": _summary(grade),
                "tests": tests,
                **provenance(),
            }
        )
    policy = grade.policy
    return NativeGrade.model_validate(
        {
            "format": "native",
            "task": grade.task,
            "score": grade.score,
            "max_score": grade.max_score,
            "fraction": fraction,
            "passed": grade.passed,
            "policy": {
                "kind": policy.kind,
                "decimals": policy.decimals,
                "rtol": policy.rtol,
                "atol": policy.atol,
            },
            "items": [{**vars(item), "labels": list(item.labels)} for item in grade.items],
            **provenance(),
        }
    )
