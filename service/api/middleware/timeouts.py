"""A request body not complete within BACKPROP_REQUEST_TIMEOUT_S gets a 408 problem.

The server (granian, see service/cli.py) already closes a connection whose headers are not
complete within the timeout; the app is called once the headers are in, and from then on the
body has the same time to arrive, counted from that moment. Each read of the body waits at most
until that deadline; past it the read raises RequestTimeout, the request layer answers 408
`/problems/request-timeout` with `Connection: close` (the rest of the body is never read, so the
connection cannot be reused) and the connection is freed. Once the last body chunk is in, reads
pass straight through: a later wait for `http.disconnect` is not timed.

The request layer (service.api.middleware.layer) reads every body through `timed`, after the
request id is set, so that a 408 carries the id and leaves an access line. Tested by
api_tests/test_slow_clients.py against a real server process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Send

from service.api.errors import send_problem
from service.core.errors import RequestTimeout

TICK_S = 0.1  # how late past its deadline a read may be cut off


class _Watch:
    """The reads of one event loop that wait on a deadline, checked every TICK_S while any
    waits: one timer per tick, not one per read (a timer costs a request ~3.5 µs)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.armed = False

    def add(self, task: asyncio.Task[Any], deadline: float) -> None:
        self.waiting[task] = deadline
        if not self.armed:
            self.armed = True
            self.loop.call_later(TICK_S, self.tick)

    def tick(self) -> None:
        now = self.loop.time()
        for task, deadline in list(self.waiting.items()):
            if now >= deadline:  # the task waits in its read: the cancel lands there
                del self.waiting[task]
                self.expired.add(task)
                task.cancel()
        self.armed = bool(self.waiting)
        if self.armed:
            self.loop.call_later(TICK_S, self.tick)


_watches: dict[asyncio.AbstractEventLoop, _Watch] = {}


def _watch(loop: asyncio.AbstractEventLoop) -> _Watch:
    watch = _watches.get(loop)
    if watch is None:
        for old in [old for old in _watches if old.is_closed()]:
            del _watches[old]
        watch = _watches[loop] = _Watch(loop)
    return watch


def timed(receive: Receive, seconds: float) -> Receive:
    """`receive`, each read waiting at most until `seconds` from now (RequestTimeout past it,
    up to TICK_S late); once the last body chunk is in, reads pass straight through."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    complete = False

    async def timed_receive() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        task = asyncio.current_task()
        assert task is not None
        watch = _watch(loop)
        watch.add(task, deadline)
        try:
            message = await receive()
        except asyncio.CancelledError:
            if task not in watch.expired:
                raise
            watch.expired.discard(task)
            task.uncancel()
            raise RequestTimeout(
                f"The request body was not complete within {seconds:g} s "
                "(BACKPROP_REQUEST_TIMEOUT_S).",
                headers={"Connection": "close"},
            ) from None
        finally:
            watch.waiting.pop(task, None)
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed_receive


async def send_timeout(send: Send, exc: RequestTimeout) -> None:
    """The 408 problem (with `Connection: close`)."""
    await send_problem(send, exc.status, exc.title, exc.detail, exc.slug, exc.headers)
