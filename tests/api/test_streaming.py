"""The event stream itself: progress coalesced to one event per INTERVAL, the last always sent,
and a failure after the stream began as an `error` event carrying the problem+json."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.responses import Response

from api_tests.support.sse import parse
from service.api import streaming, training_pool
from service.core.errors import LimitExceeded


class Answer(BaseModel):
    """A stand-in answer."""

    value: float


def app_of(work: Any) -> FastAPI:
    """An app whose POST /work streams `work` (when asked to)."""
    app = FastAPI()

    @app.post("/work", response_model=Answer)
    async def route(request: Request) -> Answer | Response:
        return await streaming.answer(request, work)

    return app


def streamed(app: FastAPI) -> tuple[str, float]:
    """The stream's text and how long it took."""

    async def go() -> tuple[str, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            start = time.monotonic()
            response = await client.post("/work", headers={"Accept": "text/event-stream"})
            return response.text, time.monotonic() - start

    return anyio.run(go)


def test_progress_is_coalesced_and_the_last_report_is_always_sent() -> None:
    async def work() -> Answer:
        job = training_pool.JOB.get()
        assert job is not None
        for i in range(1, 301):  # 300 reports in about 0.45 s
            job.report({"epoch": i, "epochs": 300})
            await anyio.sleep(0.0015)
        return Answer(value=0.5)

    text, seconds = streamed(app_of(work))
    events = parse(text)
    progress = [e.json() for e in events if e.event == "progress"]
    assert 1 <= len(progress) <= seconds / streaming.INTERVAL + 1  # ~10 a second, not 300
    assert progress[-1] == {"epoch": 300, "epochs": 300}
    assert [p["epoch"] for p in progress] == sorted({p["epoch"] for p in progress})
    assert events[-1].event == "result"
    assert events[-1].json() == {"value": 0.5}


def test_a_failure_after_the_stream_began_is_an_error_event_with_the_problem() -> None:
    async def work() -> Answer:
        job = training_pool.JOB.get()
        assert job is not None
        job.report({"epoch": 1, "epochs": 2})
        await anyio.sleep(0.25)
        raise LimitExceeded("too much, found late")

    events = parse(streamed(app_of(work))[0])
    assert [e.event for e in events] == ["progress", "error"]
    assert events[-1].json() == {
        "type": "/problems/limit-exceeded",
        "title": "Limit exceeded",
        "status": 422,
        "detail": "too much, found late",
    }


def test_an_unexpected_failure_is_an_internal_problem_event_without_internals() -> None:
    async def work() -> Answer:
        raise RuntimeError("secret internals")

    events = parse(streamed(app_of(work))[0])
    assert [e.event for e in events] == ["error"]
    assert events[0].json()["status"] == 500
    assert "secret" not in events[0].data
