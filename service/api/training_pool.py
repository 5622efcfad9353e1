"""The one door to training: limits, admission, worker threads and slices.

Every training the service runs passes through here — /train, /train/batch, /compare, the plots,
and grading (the case and its wrong versions). A request's runs are checked against the configured
limits before any starts (`check`); then admitted or refused (503 with Retry-After when every slot
is busy and the waiting line is full); then run in worker threads, off the event loop.

The kernel releases the GIL, so trainings in different threads use different cores while the
event loop keeps answering. At most BACKPROP_MAX_CONCURRENT_TRAININGS run at once (default: the
CPU count) and at most BACKPROP_MAX_QUEUED_TRAININGS wait for a turn. Several runs of one request
take turns on the slots in slices of about SLICE_STEPS steps, the run with most work left going
next, so they all finish close together; a request takes one place in the waiting line per
worker, never one per run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from anyio import CapacityLimiter, create_task_group, from_thread, to_thread

from service.api.counters import record_training
from service.core.errors import LimitExceeded, Overloaded
from service.core.grading.tasks import Trainer
from service.core.training.loop import Session, TrainConfig, TrainResult, finish, session
from service.settings import Settings, get_settings

RETRY_AFTER_SECONDS = 1
# Worker threads run at a lower CPU priority than the event loop, so /health and short
# requests keep answering promptly while every core trains.
WORKER_NICENESS = 10
# A request's runs take turns on the slots in slices of about this many steps (~10 ms of sgd).
SLICE_STEPS = 1 << 17


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
    settings: Settings, configs: Sequence[TrainConfig], what: str = "request"
) -> list[TrainResult]:
    """Check, admit and train several configurations on as many slots as there are (in order)."""
    check(settings, configs, what)
    admit()
    if len(configs) == 1:  # no turns to take: the whole run in one go
        result = await to_thread.run_sync(_run, configs[0], limiter=limiter())
        record_training(configs[0].optimizer.name, result.status, result.steps)
        return [result]
    sessions = [session(config, SLICE_STEPS) for config in configs]
    left = [_cost(config) for config in configs]
    waiting = set(range(len(configs)))
    results: list[TrainResult | None] = [None] * len(configs)

    async def worker() -> None:
        while waiting:
            i = max(waiting, key=left.__getitem__)
            waiting.remove(i)
            finished, value = await to_thread.run_sync(_advance, sessions[i], limiter=limiter())
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
        raise first(failed) from None
    return [result for result in results if result is not None]


def trainer(settings: Settings, memo: dict[str, TrainResult]) -> Trainer:
    """A core grading Trainer backed by the pool, for a worker thread; repeated runs are memoized.

    The grader runs in a worker thread; each call goes back to the event loop to train through
    the slots, so grading waits in the same line as every other training.
    """

    def train_from_thread(configs: Sequence[TrainConfig]) -> list[TrainResult]:
        keys = [config.fingerprint() for config in configs]
        todo = {key: config for key, config in zip(keys, configs, strict=True) if key not in memo}
        if todo:
            done = from_thread.run(train_many, settings, list(todo.values()), "grade")
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


def _run(config: TrainConfig) -> TrainResult:
    lower_priority()
    result: TrainResult = finish(session(config))
    return result


def _advance(run_session: Session) -> tuple[bool, Any]:
    """Run a session's next slice in this worker thread: (finished, steps done or its result)."""
    lower_priority()
    try:
        return False, next(run_session)
    except StopIteration as stop:
        return True, stop.value


def _cost(config: TrainConfig, done: int = 0) -> float:
    """Estimated kernel time of a configuration's steps after the first `done`, in sgd steps."""
    return (config.steps - done) * config.optimizer.spec.step_cost
