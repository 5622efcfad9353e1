"""Routes of grading: an auto-grader sends a student's answer and gets a score and feedback.

The route validates, hands the case to the core's grader (training cases with a trainer backed by
the training pool), counts the verdict and renders the requested platform format. A batch's items
are validated one by one: a malformed item is answered `gradable: false` and the rest graded.
A batch answers JSON, or with `Accept: text/event-stream` its progress (the item's index, and the
epochs of the item's training) and then the same JSON (service/api/streaming.py); a client that
leaves stops the grading before the next item or training slice. (Over 250 lines: the batch's
fast path, which validates a repeated case once and writes entries with orjson, sits beside the
route it serves.)

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.responses import Response

from service.api import streaming, training_pool
from service.api.counters import record_grade
from service.api.deps import SettingsDep
from service.api.errors import field_errors
from service.api.grade_formats import MODELS, GradeResponse, provenance, render_data
from service.api.route_classes.offload import OffloadRoute
from service.api.schemas.grade_results import BatchEntry, GradeBatchResponse
from service.api.schemas.grading import (
    BackwardSubmission,
    ForwardSubmission,
    GradcheckGrade,
    GradeBatchRequest,
    GradeRequest,
    TrainGrade,
    case_point,
)
from service.api.schemas.graph import _course_named
from service.core.dataset import load_dataset
from service.core.errors import BackpropError, ClientGone, LimitExceeded
from service.core.grading import tasks
from service.core.grading.policy import Grade
from service.core.graphs.definition import Graph
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
        data = await to_thread.run_sync(_graded, body, settings, {})
        return MODELS[body.format].model_validate(data)

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

    def answer(results: list[dict[str, Any]]) -> dict[str, Any]:
        graded = sum(entry["gradable"] for entry in results)
        return {
            **provenance(),
            "results": results,
            "graded": graded,
            "not_gradable": len(results) - graded,
        }

    async def work() -> bytes:
        results = await to_thread.run_sync(_grade_all, body.items, settings)  # one hop, not 1/item
        # the entries are the JSON of their models already (grade_formats.render_data): written
        # as they are, not validated and dumped again (a 1,000-item answer is ~3 MB)
        return orjson.dumps(answer(results))

    async def work_model() -> GradeBatchResponse:  # an event stream's result event
        results = await to_thread.run_sync(_grade_all, body.items, settings)
        return GradeBatchResponse.model_validate(answer(results))

    if streaming.wanted(request):
        return await streaming.answer(request, work_model)
    content = await training_pool.watched(request, work)
    return Response(content, media_type="application/json")


def _grade(
    body: Any,
    settings: Settings,
    memo: dict[str, TrainResult],
    batch: _Batch | None = None,
    submitted: dict[str, Any] | None = None,
) -> Grade:
    """The core's grade of one validated request (CPU work: runs in a worker thread).

    ``submitted``: a forward or backward submission's values, when the batch validated them in
    place of ``body.submission`` (``_Batch.validated``)."""
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
    graph, x, y = case_point(body.case) if batch is None else batch.point(body.case)
    if isinstance(body, GradcheckGrade):
        case = body.case
        return tasks.grade_gradcheck(
            x, y, case.w, case.eps, case.checked(graph), body.submission.items(), **options,
            global_point=_row0(), graph=graph,
        )  # fmt: skip
    if submitted is None:
        submitted = {k: v for k, v in body.submission.__dict__.items() if v is not None}
        submitted |= body.submission.__pydantic_extra__ or {}
    return tasks.grade_point(body.task, x, y, body.case.w, submitted, **options, graph=graph)


def _row0() -> tuple[list[float], float]:
    """The notebook's global point: row 0 of the dataset."""
    data = load_dataset()
    return data.X[0].tolist(), float(data.y[0])


def _graded(
    body: Any,
    settings: Settings,
    memo: dict[str, TrainResult],
    verdicts: list[Any] | None = None,
    batch: _Batch | None = None,
    submitted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Grade one validated request, count its verdict, and render it as its format's JSON (in a
    worker thread)."""
    grade = _grade(body, settings, memo, batch, submitted)
    record_grade(grade.task, grade.passed)
    if verdicts is not None:
        verdicts.append((grade.task, grade.passed))
    return render_data(body.format, grade)


_PAUSE = threading.Lock()
_PAUSED = [0, False]  # batches running, whether the collector was enabled before the first


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while batches run (reference counting still frees
    almost everything): a 1,000-item batch allocates enough long-lived objects to trigger full
    collections of the whole heap, which cost about as much as the grading itself. Restored
    when the last running batch ends; a batch is bounded (BACKPROP_MAX_GRADE_BATCH)."""
    with _PAUSE:
        if _PAUSED[0] == 0:
            _PAUSED[1] = gc.isenabled()
            gc.disable()
        _PAUSED[0] += 1
    try:
        yield
    finally:
        with _PAUSE:
            _PAUSED[0] -= 1
            if _PAUSED[0] == 0 and _PAUSED[1]:
                gc.enable()


def _grade_all(items: list[Any], settings: Settings) -> list[dict[str, Any]]:
    """Every batch item in order (the collector paused); cases repeated in the batch are trained
    once, and an item repeated exactly (many students with the same right answer) is graded
    once."""
    with _collector_paused():
        return _grade_items(items, settings)


SUBMISSIONS: dict[str, type[BaseModel]] = {
    "forward": ForwardSubmission,
    "backward": BackwardSubmission,
}


FIELDS = {task: tuple(model.model_fields) for task, model in SUBMISSIONS.items()}


def _plain(values: Any) -> bool:
    """Whether every value is a finite float (not an int, a bool, None, NaN, ...)."""
    for v in values:
        if type(v) is not float or not math.isfinite(v):
            return False
    return True


class _Batch:
    """What a batch's items share, validated and computed once: the rest of an item whose
    submission alone differs (a class answering one case), and each case's point."""

    def __init__(self) -> None:
        self.shells: dict[bytes, Any] = {}
        self.points: dict[int, tuple[Any, tuple[Graph, list[float], float]]] = {}

    def validated(self, item: Any) -> tuple[Any, dict[str, Any] | None]:
        """REQUEST.validate_python(item), and the submission's values when they were checked
        here: for a forward or backward item whose case and options were validated before in
        the batch, its submission alone is validated. Plain finite floats under the
        submission's own names (or, on another graph, any names) are what its model would make
        of them (in its order: its fields, then the others as given), and they are taken as
        they are; anything else goes through the model, and any failure is the whole item's
        validation's, as it reports it."""
        key = _shell_key(item)
        template = self.shells.get(key) if key is not None else None
        if template is None:
            body = REQUEST.validate_python(item)
            if key is not None:
                self.shells[key] = body
            return body, None
        given = item["submission"]
        model = SUBMISSIONS[template.task]
        names = FIELDS[template.task]
        course = _course_named(template.case.graph)
        if _plain(given.values()) and (not course or all(k in names for k in given)):
            values = {k: given[k] for k in names if k in given}
            return template, values | {k: v for k, v in given.items() if k not in names}
        try:
            submission = model.model_validate(given)
        except ValidationError:
            return REQUEST.validate_python(item), None
        if submission.__pydantic_extra__ and course:
            return REQUEST.validate_python(item), None  # the course's shape refuses other keys
        return template.model_copy(update={"submission": submission}), None

    def point(self, case: Any) -> tuple[Graph, list[float], float]:
        """case_point(case), once per case object (the items of one shell share theirs)."""
        found = self.points.get(id(case))
        if found is None or found[0] is not case:
            found = (case, case_point(case))
            self.points[id(case)] = found
        return found[1]


def _shell_key(item: Any) -> bytes | None:
    """A forward or backward item without its submission, as text (None for anything else)."""
    if not isinstance(item, dict) or item.get("task") not in SUBMISSIONS:
        return None
    if not isinstance(item.get("submission"), dict):
        return None
    key = _key({k: v for k, v in item.items() if k != "submission"})
    return key if isinstance(key, bytes) else None


def _grade_items(items: list[Any], settings: Settings) -> list[dict[str, Any]]:
    memo: dict[str, TrainResult] = {}
    batch = _Batch()
    seen: dict[bytes | str, tuple[dict[str, Any], list[Any]]] = {}
    job = training_pool.JOB.get() or training_pool.Job()  # the request's (anyio copies the context)
    entries = []
    for i, item in enumerate(items):
        job.check()
        job.report({"item": i, "items": len(items)}, fresh=True)
        key = _key(item)
        if key is not None and key in seen:
            entry, verdicts = seen[key]
            for task, passed in verdicts:
                record_grade(task, passed)
            entries.append({**entry, "index": i})
            continue
        verdicts = []
        entries.append(_entry(i, item, settings, memo, verdicts, batch))
        if key is not None:
            seen[key] = (entries[-1], verdicts)
    return entries


def _key(item: Any) -> bytes | str | None:
    """The item as text, to find exact repeats (None when it is not plain JSON).

    orjson's text, unless it wrote a null (it writes NaN and infinities as null: Python's then
    tells them apart, or refuses them) or could not (an integer past 64 bits)."""
    try:
        text = orjson.dumps(item)
    except (TypeError, orjson.JSONEncodeError):
        text = b"null"
    if b"null" not in text:
        return text
    try:
        return json.dumps(item, allow_nan=False)
    except (TypeError, ValueError):
        return None


def _entry(
    index: int,
    item: Any,
    settings: Settings,
    memo: dict[str, TrainResult],
    verdicts: list[Any] | None = None,
    batch: _Batch | None = None,
) -> dict[str, Any]:
    """One batch item as its BatchEntry's JSON: validated on its own; a bad one is not
    gradable, with the reason."""
    entry: dict[str, Any] = {"index": index, "result": None, "reason": None, "errors": None}
    batch = batch or _Batch()
    try:
        body, submitted = batch.validated(item)
        result = _graded(body, settings, memo, verdicts, batch, submitted)
    except ClientGone:
        raise
    except ValidationError as exc:
        errors, reason = field_errors(exc.errors())
        refused = {**entry, "gradable": False, "reason": reason, "errors": errors}
        return BatchEntry.model_validate(refused).model_dump(mode="json", by_alias=True)
    except BackpropError as exc:
        refused = {**entry, "gradable": False, "reason": exc.detail}
        return BatchEntry.model_validate(refused).model_dump(mode="json", by_alias=True)
    return {"index": index, "gradable": True, "result": result, "reason": None, "errors": None}
