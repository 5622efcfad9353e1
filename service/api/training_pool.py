"""The one door to training: limits, admission, worker threads and slices.

Every training the service runs passes through here — /train, /train/batch, /compare, the plots,
and grading (the case and its wrong versions). A request's runs are checked against the configured
limits before any starts (`check`); then admitted or refused (503 with Retry-After when every slot
is busy and the waiting line is full); then run in worker threads, off the event loop.

The kernel releases the GIL, so trainings in different threads use different cores while the
event loop keeps answering. At most BACKPROP_MAX_CONCURRENT_TRAININGS run at once (default: the
CPU count) and at most BACKPROP_MAX_QUEUED_TRAININGS wait for a turn. A request's workers (one per
run, at most one per slot) each hold a slot until its runs are done; its runs take turns on them
in slices of about SLICE_STEPS steps, the run with most work left going next, so they all finish
close together; a request takes one place in the waiting line per worker, never one per run.

Every request's work is a `Job` (set by the route, read here through a context variable): each
slice reports its run's progress to it (epoch, epochs, loss so far; the run's index in a batch),
and before each slice the pool asks it whether the client is still there. A client gone (its
`http.disconnect`, watched by `watched`, or its stream cancelled) stops the work before the next
slice — within about SLICE_STEPS steps or one epoch — frees the slot at once, and every run it
had not finished counts in backprop_trainings_total with status "cancelled".

(Over 250 lines: limits, admission, the request's Job and its watcher, and the slices, together
because each is a part of every training's one way in.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

from anyio import (
    CapacityLimiter,
    create_task_group,
    from_thread,
    get_cancelled_exc_class,
    to_thread,
)
from starlette.requests import Request

from service.api.counters import record_training
from service.core.errors import ClientGone, LimitExceeded, Overloaded
from service.core.grading.tasks import Trainer
from service.core.training.loop import Session, TrainConfig, TrainResult, session
from service.settings import Settings, get_settings

T = TypeVar("T")

RETRY_AFTER_SECONDS = 1
# Worker threads run at a lower CPU priority than the event loop, so /health and short
# requests keep answering promptly while every core trains.
WORKER_NICENESS = 10
# A request's runs take turns on the slots in slices of about this many steps (~10 ms of sgd).
SLICE_STEPS = 1 << 17


class Job:
    """One request's work: whether its client has gone, and its latest progress.

    Both are written from worker threads and the event loop alike: a threading.Event, and one
    dict replaced whole (a reader sees the old or the new one, never half of either).
    """

    def __init__(self) -> None:
        self.gone = threading.Event()
        self.progress: dict[str, Any] | None = None
        self.reports = 0  # how many times progress changed, so a reader sees what is new

    def report(self, fields: dict[str, Any], *, fresh: bool = False) -> None:
        """Merge `fields` into the progress (or start it anew with `fresh`)."""
        self.progress = fields if fresh or self.progress is None else {**self.progress, **fields}
        self.reports += 1

    def check(self) -> None:
        """Raise ClientGone if the client has gone."""
        if self.gone.is_set():
            raise ClientGone("the client disconnected; its work was stopped")


JOB: ContextVar[Job | None] = ContextVar("training_job", default=None)


async def watched(request: Request, work: Callable[[], Awaitable[T]]) -> T:
    """`work()` as this request's Job, stopped when the client disconnects (ClientGone).

    The body has been read by now, so the only message left to receive is http.disconnect.
    """
    job = Job()
    token = JOB.set(job)
    outcome: list[T] = []
    try:
        async with create_task_group() as group:

            async def watch() -> None:
                while (await request.receive())["type"] != "http.disconnect":
                    pass
                job.gone.set()
                group.cancel_scope.cancel()

            async def run() -> None:
                outcome.append(await work())
                group.cancel_scope.cancel()

            group.start_soon(watch)
            group.start_soon(run)
    except BaseExceptionGroup as failed:
        raise first(failed) from None
    finally:
        JOB.reset(token)
    if not outcome:
        raise ClientGone("the client disconnected; its work was stopped")
    return outcome[0]


@cache
def limiter() -> CapacityLimiter:
    """The process's training slots."""
    return CapacityLimiter(get_settings().max_concurrent_trainings)


def check(settings: Settings, configs: Sequence[TrainConfig], what: str = "request") -> None:
    """Raise LimitExceeded when a run's rows or epochs, or all runs' steps, are over a limit."""
    for config in configs:
        if config.rows > settings.max_dataset_rows:
            raise LimitExceeded(
                f"the dataset has {config.rows} rows; the limit is {settings.max_dataset_rows} "
                "(BACKPROP_MAX_DATASET_ROWS)"
            )
        if config.epochs > settings.max_epochs:
            raise LimitExceeded(
                f"epochs = {config.epochs}; the limit is {settings.max_epochs} "
                "(BACKPROP_MAX_EPOCHS)"
            )
    steps = sum(config.steps for config in configs)
    if steps > settings.max_total_steps:
        raise LimitExceeded(
            f"this {what} asks for {steps} training steps (rows x epochs x configurations, summed "
            f"over its {len(configs)} configurations); the limit is {settings.max_total_steps} "
            "(BACKPROP_MAX_TOTAL_STEPS)"
        )


def ready(settings: Settings, configs: Sequence[TrainConfig], what: str = "request") -> None:
    """Raise as train_many would before any work: a limit exceeded, or no room (Overloaded)."""
    check(settings, configs, what)
    admit()


def admit() -> None:
    """Raise Overloaded when every slot is busy and the waiting line is full."""
    slots = limiter()
    stats = slots.statistics()
    if stats.borrowed_tokens >= slots.total_tokens and (
        stats.tasks_waiting >= get_settings().max_queued_trainings
    ):
        raise Overloaded(
            f"{stats.borrowed_tokens} trainings are running and {stats.tasks_waiting} waiting; "
            f"retry in {RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def lower_priority() -> None:
    """Make the calling thread nicer than the event loop (Linux nice is per thread)."""
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        if current < WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


async def train(settings: Settings, config: TrainConfig) -> TrainResult:
    """Check, admit and train one configuration in a worker thread."""
    (result,) = await train_many(settings, [config])
    return result


async def train_many(
    settings: Settings,
    configs: Sequence[TrainConfig],
    what: str = "request",
    job: Job | None = None,
) -> list[TrainResult]:
    """Check, admit and train several configurations on as many slots as there are (in order).

    Progress goes to `job` (by default the request's); a run in a batch reports its index.
    """
    check(settings, configs, what)
    admit()
    job = job or JOB.get() or Job()
    many = len(configs) > 1

    def observer(i: int) -> Callable[[int, float], None]:
        epochs = configs[i].epochs
        where = {"run": i, "runs": len(configs)} if many else {}

        def observe(done: int, loss: float) -> None:
            job.report({"epoch": done, "epochs": epochs, "loss": loss, **where})

        return observe

    sessions = [session(config, SLICE_STEPS, observer(i)) for i, config in enumerate(configs)]
    left = [_cost(config) for config in configs]
    waiting = set(range(len(configs)))
    results: list[TrainResult | None] = [None] * len(configs)

    async def worker() -> None:
        async with limiter():  # held from slice to slice: no other request slips in between
            thread = CapacityLimiter(1)  # this worker's one thread at a time
            while waiting:
                job.check()
                i = max(waiting, key=left.__getitem__)
                waiting.remove(i)
                finished, value = await to_thread.run_sync(_advance, sessions[i], limiter=thread)
                if finished:
                    results[i] = value
                    record_training(configs[i].optimizer.name, value.status, value.steps)
                else:
                    left[i] = _cost(configs[i], done=value)
                    waiting.add(i)

    try:
        async with create_task_group() as group:
            for _ in range(min(len(configs), int(limiter().total_tokens))):
                group.start_soon(worker)
    except BaseExceptionGroup as failed:  # a worker's error (e.g. a 422) as the caller would see it
        error = first(failed)
        if isinstance(error, ClientGone):
            _count_cancelled(configs, results, sessions)
        raise error from None
    except get_cancelled_exc_class():  # the stream was cancelled: its client has gone
        _count_cancelled(configs, results, sessions)
        raise
    return [result for result in results if result is not None]


def _count_cancelled(
    configs: Sequence[TrainConfig], results: Sequence[TrainResult | None], sessions: list[Session]
) -> None:
    """Count the runs a stopped request had not finished as cancelled, and drop their state."""
    for config, result, run_session in zip(configs, results, sessions, strict=True):
        if result is None:
            record_training(config.optimizer.name, "cancelled", 0)
            run_session.close()


def trainer(settings: Settings, memo: dict[str, TrainResult]) -> Trainer:
    """A core grading Trainer backed by the pool, for a worker thread; repeated runs are memoized.

    The grader runs in a worker thread; each call goes back to the event loop to train through
    the slots, so grading waits in the same line as every other training, and stops with the
    request's Job (taken from the thread's context, which anyio copies from the request's).
    """
    job = JOB.get()

    def train_from_thread(configs: Sequence[TrainConfig]) -> list[TrainResult]:
        keys = [config.fingerprint() for config in configs]
        todo = {key: config for key, config in zip(keys, configs, strict=True) if key not in memo}
        if todo:
            done = from_thread.run(train_many, settings, list(todo.values()), "grade", job)
            memo.update(zip(todo, done, strict=True))
        return [memo[key] for key in keys]

    return train_from_thread


def in_slot(settings: Settings) -> Callable[[Callable[[], Any]], Any]:
    """Run a compiled job (grading's wrong versions) in a training slot, from a worker thread:
    admitted (503 when full) and counted like every training."""

    async def run(job: Callable[[], Any]) -> Any:
        admit()
        return await to_thread.run_sync(job, limiter=limiter())

    return lambda job: from_thread.run(run, job)


def first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception in a (nested) exception group."""
    inner = group.exceptions[0]
    return first(inner) if isinstance(inner, BaseExceptionGroup) else inner


def _advance(run_session: Session) -> tuple[bool, Any]:
    """Run a session's next slice in this worker thread: (finished, steps done or its result)."""
    lower_priority()
    try:
        return False, next(run_session)
    except StopIteration as stop:
        return True, stop.value


def _cost(config: TrainConfig, done: int = 0) -> float:
    """Estimated kernel time of a configuration's steps after the first `done`, in sgd steps."""
    return (config.steps - done) * config.optimizer.step_cost
