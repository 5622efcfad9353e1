"""A core Grade in the platform's format: native, Gradescope's results.json, PrairieLearn's.

`render_data` writes the answer as the JSON its response model serializes (the models' field
order, every number a float): /grade validates it into the model (`render`), and /grade/batch
writes it as it is (a 1,000-item answer is ~3 MB; validating and dumping it through pydantic cost
about as much as grading it). api_tests/test_grading_render.py holds the two to the same bytes.

Tested by api_tests/test_grading.py and api_tests/test_grading_render.py.
"""

from __future__ import annotations

from typing import Any

from service import __version__
from service.api.schemas.grade_results import (
    GradescopeResults,
    NativeGrade,
    PrairieLearnResults,
)
from service.core.dataset import load_dataset
from service.core.grading.policy import Grade, ItemResult, Value

GradeResponse = NativeGrade | GradescopeResults | PrairieLearnResults
MODELS: dict[str, type[GradeResponse]] = {
    "native": NativeGrade,
    "gradescope": GradescopeResults,
    "prairielearn": PrairieLearnResults,
}


def provenance() -> dict[str, str]:
    """The service version and dataset hash every grade carries."""
    return {"service_version": __version__, "dataset_sha256": load_dataset().sha256}


def _summary(grade: Grade, score: float, max_score: float) -> str:
    right = sum(item.passed for item in grade.items)
    return (
        f"{grade.task}: {right} of {len(grade.items)} items correct, "
        f"{score:g} of {max_score:g} points."
    )


def _number(value: Value | None) -> Value | None:
    """A value as its float field holds it (pydantic turns an int into a float)."""
    if value is None or type(value) is float:
        return value
    if isinstance(value, list):
        return value if all(type(v) is float for v in value) else [float(v) for v in value]
    return float(value)


_ITEMS: dict[int, tuple[ItemResult, dict[str, Any]]] = {}  # by id: the core reuses right items


def _native_item(i: ItemResult) -> dict[str, Any]:
    """An item's JSON; the same for the same verdict object (policy.grade hands out one object
    per right value: a class's right items are written once)."""
    found = _ITEMS.get(id(i))
    if found is not None and found[0] is i:
        return found[1]
    data = _native_data(i)
    if not i.passed:
        return data
    if len(_ITEMS) >= 100_000:
        _ITEMS.clear()
    _ITEMS[id(i)] = (i, data)
    return data


def _native_data(i: ItemResult) -> dict[str, Any]:
    return {
        "name": i.name,
        "passed": i.passed,
        "points": float(i.points),
        "max_points": float(i.max_points),
        "submitted": _number(i.submitted),
        "expected": _number(i.expected),
        "error": None if i.error is None else float(i.error),
        "rule": i.rule,
        "diagnosis": i.diagnosis,
        "labels": list(i.labels),
        "first_mismatch": i.first_mismatch,
        "message": i.message,
    }


def render_data(fmt: str, grade: Grade) -> dict[str, Any]:
    """The grade in the requested format, as the JSON of its response model."""
    score, max_score = float(grade.score), float(grade.max_score)
    fraction = score / max_score if max_score else 0.0
    if fmt == "gradescope":
        tests = [
            {
                "name": i.name,
                "score": float(i.points),
                "max_score": float(i.max_points),
                "status": "passed" if i.passed else "failed",
                "output": i.message,
                "visibility": "visible",
            }
            for i in grade.items
        ]
        return {
            "score": score,
            "max_score": max_score,
            "output": _summary(grade, score, max_score),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {**provenance(), "task": grade.task, "max_score": max_score},
        }
    if fmt == "prairielearn":
        tests = [
            {
                "name": i.name,
                "description": i.rule,
                "points": float(i.points),
                "max_points": float(i.max_points),
                "message": i.message,
            }
            for i in grade.items
        ]
        return {
            **provenance(),
            "gradable": True,
            "score": fraction,
            "message": _summary(grade, score, max_score),
            "tests": tests,
        }
    policy = grade.policy
    return {
        **provenance(),
        "format": "native",
        "task": grade.task,
        "score": score,
        "max_score": max_score,
        "fraction": fraction,
        "passed": grade.passed,
        "policy": {
            "kind": policy.kind,
            "decimals": policy.decimals,
            "rtol": float(policy.rtol),
            "atol": float(policy.atol),
        },
        "items": [_native_item(item) for item in grade.items],
    }


def render(fmt: str, grade: Grade) -> GradeResponse:
    """The grade in the requested format, as its response model."""
    return MODELS[fmt].model_validate(render_data(fmt, grade))
