"""Routes of grading: an auto-grader sends a student's answer and gets a score and feedback.

The route validates, hands the case to the core's grader (training cases with a trainer backed by
the training pool), counts the verdict and renders the requested platform format. A batch's items
are validated one by one: a malformed item is answered `gradable: false` and the rest graded.
A batch answers JSON, or with `Accept: text/event-stream` its progress (the item's index, and the
epochs of the item's training) and then the same JSON (service/api/streaming.py); a client that
leaves stops the grading before the next item or training slice.

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from service.api import streaming, training_pool
from service.api.counters import record_grade
from service.api.deps import SettingsDep
from service.api.errors import field_errors
from service.api.grade_formats import GradeResponse, provenance, render
from service.api.route_classes.offload import OffloadRoute
from service.api.schemas.grade_results import BatchEntry, GradeBatchResponse
from service.api.schemas.grading import (
    GradcheckGrade,
    GradeBatchRequest,
    GradeRequest,
    TrainGrade,
    case_point,
)
from service.core.dataset import load_dataset
from service.core.errors import BackpropError, ClientGone, LimitExceeded
from service.core.grading import tasks
from service.core.grading.policy import Grade
from service.core.training.loop import TrainResult
from service.settings import Settings

# A grading case can carry a training dataset as large as /train's: the same large-body path.
router = APIRouter(tags=["grading"], route_class=OffloadRoute)
REQUEST = TypeAdapter[Any](GradeRequest)


@router.post("/grade", summary="Grade one submission of forward, backward, gradcheck or train")
async def grade(
    body: GradeRequest,
    settings: SettingsDep,
    request: Request,
) -> GradeResponse:
    """Recompute the case, compare each submitted item with the policy, and say why it is wrong.

    Failed items are matched against the common wrong versions of the same computation (sign of
    dy_pred flipped, tanh's derivative as 1 - tanh, one-sided differences, full-batch training,
    ...). Answers in the native shape, Gradescope's results.json, or PrairieLearn's results;
    every answer carries the service version and the dataset's sha256.
    """

    async def work() -> GradeResponse:
        return await to_thread.run_sync(_graded, body, settings, {})

    return await training_pool.watched(request, work)


@router.post(
    "/grade/batch",
    summary="Grade up to 1000 submissions independently, in order",
    response_model=GradeBatchResponse,
    responses=streaming.RESPONSES,
)
async def grade_batch(
    body: GradeBatchRequest,
    settings: SettingsDep,
    request: Request,
) -> GradeBatchResponse | Response:
    """Each item is exactly a POST /grade body, validated and graded on its own: a malformed one
    comes back `gradable: false` with its reason and does not affect the others. With
    `Accept: text/event-stream`, progress events (`item`, `items`; and `epoch`, `epochs`, `loss`
    while an item trains) and then this answer as a `result` event.
    """
    if len(body.items) > settings.max_grade_batch:
        raise LimitExceeded(
            f"the batch has {len(body.items)} items; the limit is {settings.max_grade_batch} "
            "(BACKPROP_MAX_GRADE_BATCH)"
        )

    async def work() -> GradeBatchResponse:
        results = await to_thread.run_sync(_grade_all, body.items, settings)  # one hop, not 1/item
        graded = sum(entry.gradable for entry in results)
        return GradeBatchResponse.model_validate(
            {
                "results": results,
                "graded": graded,
                "not_gradable": len(results) - graded,
                **provenance(),
            }
        )

    return await streaming.answer(request, work)


def _grade(body: Any, settings: Settings, memo: dict[str, TrainResult]) -> Grade:
    """The core's grade of one validated request (CPU work: runs in a worker thread)."""
    policy = body.to_policy(body.task)
    options = {
        "policy": policy,
        "points": body.points,
        "reveal": body.reveal_expected,
        "feedback": body.feedback,
    }
    if isinstance(body, TrainGrade):
        config = body.case.to_config()
        training_pool.check(settings, tasks.training_plan(config), "grade")
        train = training_pool.trainer(settings, memo)
        submitted = body.submission.model_dump()
        slot = training_pool.in_slot(settings)
        return tasks.grade_train(config, submitted, train, **options, run_variants=slot)
    graph, x, y = case_point(body.case)
    if isinstance(body, GradcheckGrade):
        case = body.case
        return tasks.grade_gradcheck(
            x, y, case.w, case.eps, case.checked(graph), body.submission.items(), **options,
            global_point=_row0(), graph=graph,
        )  # fmt: skip
    submitted = {k: v for k, v in body.submission if v is not None}
    submitted |= body.submission.__pydantic_extra__ or {}
    return tasks.grade_point(body.task, x, y, body.case.w, submitted, **options, graph=graph)


def _row0() -> tuple[list[float], float]:
    """The notebook's global point: row 0 of the dataset."""
    data = load_dataset()
    return data.X[0].tolist(), float(data.y[0])


def _graded(body: Any, settings: Settings, memo: dict[str, TrainResult]) -> GradeResponse:
    """Grade one validated request, count its verdict, and render it (in a worker thread)."""
    grade = _grade(body, settings, memo)
    record_grade(grade.task, grade.passed)
    return render(body.format, grade)


def _grade_all(items: list[Any], settings: Settings) -> list[BatchEntry]:
    """Every batch item in order; cases repeated in the batch are trained once."""
    memo: dict[str, TrainResult] = {}
    job = training_pool.JOB.get() or training_pool.Job()  # the request's (anyio copies the context)
    entries = []
    for i, item in enumerate(items):
        job.check()
        job.report({"item": i, "items": len(items)}, fresh=True)
        entries.append(_entry(i, item, settings, memo))
    return entries


def _entry(index: int, item: Any, settings: Settings, memo: dict[str, TrainResult]) -> BatchEntry:
    """One batch item: validated on its own; a bad one is not gradable, with the reason."""
    entry: dict[str, Any] = {"index": index, "result": None, "reason": None, "errors": None}
    try:
        result = _graded(REQUEST.validate_python(item), settings, memo)
    except ClientGone:
        raise
    except ValidationError as exc:
        errors, reason = field_errors(exc.errors())
        return BatchEntry.model_validate(
            {**entry, "gradable": False, "reason": reason, "errors": errors}
        )
    except BackpropError as exc:
        return BatchEntry.model_validate({**entry, "gradable": False, "reason": exc.detail})
    return BatchEntry.model_validate({**entry, "gradable": True, "result": result})
