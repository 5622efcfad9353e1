"""Long work answered as server-sent events: progress while it runs, then its result or problem.

`answer(request, work, refuse)` is what /train, /train/batch, /compare and /grade/batch return.
Without `Accept: text/event-stream` (ranked above application/json) it is `await work()`, watched
for the client's disconnect (training_pool.watched). With it, `refuse()` runs first, so refusals
before any work (validation, limits, 503) stay ordinary problem+json answers; then the answer is a
`text/event-stream` (sse-starlette's framing) and the work runs as the request's Job:

- `progress` events: the job's progress (epoch, epochs, loss so far; a batch's run or item index)
  when it changed, at most one per INTERVAL (about 10 a second), the last one always sent;
- one `result` event whose data is exactly the JSON the same request answers without streaming;
- or one `error` event whose data is the problem+json, if the work fails after the stream began.

A client that disconnects cancels the work (sse-starlette watches http.disconnect): the pool stops
it before its next slice, frees its slot and counts its runs as cancelled. The response carries
`X-Accel-Buffering: no` (sse-starlette's default), so nginx passes each event on at once.

Tested by api_tests/test_streaming.py and tests/api/test_streaming.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from anyio import (
    Event,
    create_memory_object_stream,
    create_task_group,
    get_cancelled_exc_class,
    move_on_after,
)
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from service.api import training_pool
from service.api.errors import problem_body
from service.api.media import quality
from service.core.errors import BackpropError

log = logging.getLogger("service")

M = TypeVar("M", bound=BaseModel)
EVENT_STREAM = "text/event-stream"
INTERVAL = 0.1  # seconds between progress events, at least

STREAM_DESCRIPTION = (
    "With `Accept: text/event-stream`: server-sent events. `progress` events (data: JSON with "
    "`epoch`, `epochs`, `loss` — the last finished epoch's mean loss — and, in a batch, `run` and "
    "`runs`, or for /grade/batch `item` and `items`), at most about 10 a second, the last one "
    "always sent; then one `result` event whose data is the JSON this request answers without "
    "streaming, or one `error` event whose data is the application/problem+json of a failure "
    "after the stream began. Refusals before any work are ordinary problem+json answers."
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer (application/json), or its event stream (text/event-stream).",
        "content": {
            EVENT_STREAM: {
                "schema": {"type": "string", "description": STREAM_DESCRIPTION},
                "example": 'event: progress\r\ndata: {"epoch":259,"epochs":1000,"loss":0.0123}'
                '\r\n\r\nevent: result\r\ndata: {"loss_history":[...]}\r\n\r\n',
            }
        },
    }
}


def wanted(request: Request) -> bool:
    """Whether the Accept header ranks text/event-stream above application/json."""
    accept = request.headers.get("accept")
    return quality(accept, EVENT_STREAM) > quality(accept, "application/json")


async def answer(
    request: Request,
    work: Callable[[], Awaitable[M]],
    refuse: Callable[[], None] = lambda: None,
) -> M | Response:
    """The work's answer: as JSON (stopped if the client leaves), or as an event stream."""
    if not wanted(request):
        return await training_pool.watched(request, work)
    refuse()
    return respond(work)


def encoded(model: BaseModel) -> str:
    """The JSON FastAPI answers for a response model (the same encoder, the same separators)."""
    return json.dumps(
        jsonable_encoder(model), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def problem_event(exc: BaseException) -> ServerSentEvent:
    """The `error` event of a failure: the problem+json it answers without a stream."""
    if isinstance(exc, BackpropError):
        body = problem_body(exc.status, exc.title, exc.detail, exc.slug, exc.errors)
    else:
        log.error("unhandled error in an event stream", exc_info=exc)
        body = problem_body(500, "Internal error", "An unexpected error occurred.", "internal")
    return ServerSentEvent(json.dumps(body, separators=(",", ":")), event="error")


def respond(work: Callable[[], Awaitable[BaseModel]]) -> EventSourceResponse:
    """An event stream of the work's progress, then its result (or its problem)."""
    job = training_pool.Job()
    send, receive = create_memory_object_stream[ServerSentEvent](max_buffer_size=4)
    done = Event()
    last: list[ServerSentEvent] = []

    async def run() -> None:
        try:
            last.append(ServerSentEvent(encoded(await work()), event="result"))
        except Exception as exc:  # after the stream began, every failure is an event
            last.append(problem_event(exc))
        finally:
            done.set()

    async def produce() -> None:
        """Run the work; send its progress at most every INTERVAL, then its last event."""
        training_pool.JOB.set(job)  # this task's context, copied into the work's task
        try:
            async with send, create_task_group() as group:
                group.start_soon(run)
                seen = 0
                while not done.is_set():
                    with move_on_after(INTERVAL):
                        await done.wait()
                    if job.reports != seen and job.progress is not None:
                        seen = job.reports
                        data = json.dumps(job.progress, separators=(",", ":"))
                        await send.send(ServerSentEvent(data, event="progress"))
                await send.send(last[0])
        except get_cancelled_exc_class():  # the client has gone (the work stops): nobody reads
            receive.close()
            raise

    async def stream() -> AsyncIterator[ServerSentEvent]:
        with receive:  # closed however the stream ends (a client gone cancels it)
            async for event in receive:
                yield event

    return EventSourceResponse(stream(), data_sender_callable=produce)
