"""Grade one request or a batch: convert, call the core's graders, render the requested format."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from pydantic import TypeAdapter, ValidationError

from service import __version__
from service.api.grading_schemas import (
    BatchEntry,
    GradcheckGrade,
    GradeBatchResponse,
    GradeRequest,
    GradeResponse,
    GradescopeResults,
    NativeGrade,
    PolicySpec,
    PrairieLearnResults,
    TrainGrade,
)
from service.api.limits import check_training
from service.api.metrics import record_grade
from service.api.points import resolve_point
from service.api.runner import execute
from service.api.training import to_config
from service.core import diagnosis, graders, train_variants
from service.core.dataset import load_dataset
from service.core.errors import BackpropError, LimitExceeded
from service.core.grading import Grade, Policy, Value, Variant, resolve_policy
from service.core.training import TrainResult
from service.settings import Settings

Request = Any  # one of the GradeRequest union's members
Memo = dict[str, tuple[TrainResult, list[Variant] | None]]  # per case: the run and its variants

REQUEST = TypeAdapter[Any](GradeRequest)


def provenance() -> dict[str, str]:
    """The service version and dataset hash every grade carries."""
    return {"service_version": __version__, "dataset_sha256": load_dataset().sha256}


def to_policy(task: str, given: PolicySpec | str | None) -> Policy:
    """The core's policy for what the request gave."""
    if given is None or isinstance(given, str):
        return resolve_policy(task, given)
    return resolve_policy(task, given.kind, given.decimals, given.rtol, given.atol)


async def grade_train(body: TrainGrade, settings: Settings, policy: Policy, memo: Memo) -> Grade:
    """Train the case through the runner, grade, and retrain the wrong versions if it fails."""
    config = to_config(body.case)
    alternatives = train_variants.runner_variants(config)
    check_training(settings, body.case.rows, body.case.epochs, configs=1 + len(alternatives))
    key = body.case.model_dump_json()
    if key not in memo:
        memo[key] = ((await execute(config))[0], None)
    result, variants = memo[key]
    submitted = body.submission.model_dump()
    args = (submitted, policy, body.points, body.reveal_expected)
    first = graders.grade_train(result, *args)
    if first.passed:
        return first
    if variants is None:
        variants = [
            train_variants.as_variant(name, explanation, (await execute(alternative))[0])
            for name, explanation, alternative in alternatives
        ]
        variants += await to_thread.run_sync(train_variants.loop_variants, config, body.case.rows)
        memo[key] = (result, variants)
    return graders.grade_train(result, *args, variants=variants)


def grade_static(body: Request) -> Grade:
    """The core's grade of a forward, backward or gradcheck request (CPU work, for a thread)."""
    policy = to_policy(body.task, body.policy)
    options = (policy, body.points, body.reveal_expected)
    x, y = resolve_point(body.case)
    if isinstance(body, GradcheckGrade):
        s, case = body.submission, body.case
        submitted: dict[str, Value | None] = {"difference": s.difference}
        if s.numerical is not None:
            submitted |= diagnosis.numerical_items(s.numerical)
        given = None if case.gradients is None else list(case.gradients.model_dump().values())
        return graders.grade_gradcheck(x, y, case.w, case.eps, given, submitted, *options)
    return graders.grade_point(body.task, x, y, body.case.w, body.submission.model_dump(), *options)


async def grade_request(body: Request, settings: Settings, memo: Memo) -> Grade:
    """The core's grade of one validated request, computed off the event loop."""
    if isinstance(body, TrainGrade):
        return await grade_train(body, settings, to_policy(body.task, body.policy), memo)
    return await to_thread.run_sync(grade_static, body)


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
            "items": [vars(item) for item in grade.items],
            **provenance(),
        }
    )


async def grade_one(body: Request, settings: Settings, memo: Memo | None = None) -> GradeResponse:
    """Grade one validated request, count its verdict, and render it."""
    grade = await grade_request(body, settings, {} if memo is None else memo)
    record_grade(grade.task, all(item.passed for item in grade.items))
    return render(body.format, grade)


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"loc": ".".join(map(str, e["loc"])), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]


async def _entry(index: int, item: Any, settings: Settings, memo: Memo) -> BatchEntry:
    """One batch item: validated on its own; a bad one is not gradable, with the reason."""
    entry: dict[str, Any] = {"index": index, "result": None, "reason": None, "errors": None}
    try:
        body = REQUEST.validate_python(item)
        result = await grade_one(body, settings, memo)
    except ValidationError as exc:
        errors = _field_errors(exc)
        reason = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
        return BatchEntry.model_validate(
            {**entry, "gradable": False, "reason": reason, "errors": errors}
        )
    except BackpropError as exc:
        return BatchEntry.model_validate({**entry, "gradable": False, "reason": exc.detail})
    return BatchEntry.model_validate({**entry, "gradable": True, "result": result})


async def grade_batch(items: list[Any], settings: Settings) -> GradeBatchResponse:
    """Grade every item independently, in order; cases repeated in the batch are computed once."""
    if len(items) > settings.max_grade_batch:
        raise LimitExceeded(
            f"the batch has {len(items)} items; the limit is {settings.max_grade_batch} "
            "(BACKPROP_MAX_GRADE_BATCH)"
        )
    memo: Memo = {}
    results = [await _entry(i, item, settings, memo) for i, item in enumerate(items)]
    graded = sum(entry.gradable for entry in results)
    return GradeBatchResponse.model_validate(
        {
            "results": results,
            "graded": graded,
            "not_gradable": len(results) - graded,
            **provenance(),
        }
    )
