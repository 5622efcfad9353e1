"""Where training runs: in worker threads, off the event loop, a bounded number at a time.

The kernel releases the GIL, so trainings in different threads use different cores while the
event loop keeps answering. At most BACKPROP_MAX_CONCURRENT_TRAININGS run at once (default: the
CPU count) and at most BACKPROP_MAX_QUEUED_TRAININGS wait for a turn; beyond that a request is
refused at once with 503 and Retry-After rather than queued without end.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

from anyio import CapacityLimiter, create_task_group, to_thread

from service.api.metrics import record_training
from service.core.dataset import BUILTIN_ROWS
from service.core.errors import InvalidInput, Overloaded
from service.core.registry import resolve
from service.core.training import Session, TrainConfig, TrainResult, run, session
from service.settings import get_settings

RETRY_AFTER_SECONDS = 1
# Worker threads run at a lower CPU priority than the event loop, so /health and short
# requests keep answering promptly while every core trains.
WORKER_NICENESS = 10
# Kernel time per step relative to sgd (bench/kernel.py): estimates which run has most work left.
STEP_COST = {"sgd": 1.0, "momentum": 1.0, "adam": 1.5, "adamw": 1.5, "rmsprop": 1.5, "adagrad": 1.5}
# A batch's runs take turns on the slots in slices of about this many steps (~10 ms of sgd).
SLICE_STEPS = 1 << 17
Outcome = tuple[TrainResult, dict[str, Any]]


@cache
def limiter() -> CapacityLimiter:
    """The process's training slots."""
    return CapacityLimiter(get_settings().max_concurrent_trainings)


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


def _run_in_background(config: TrainConfig) -> Outcome:
    lower_priority()
    return run(config)


async def _train(config: TrainConfig) -> Outcome:
    result, optimizer = await to_thread.run_sync(_run_in_background, config, limiter=limiter())
    record_training(config.optimizer, result.status, result.steps)
    return result, optimizer


async def execute(config: TrainConfig) -> tuple[TrainResult, dict[str, Any]]:
    """Train one configuration in a worker thread; returns the result and the optimizer block."""
    admit()
    return await _train(config)


async def execute_many(configs: list[TrainConfig]) -> list[Outcome]:
    """Train several configurations in parallel, on as many slots as there are (results in order).

    Every configuration is checked before any starts. The runs share the slots in slices of about
    SLICE_STEPS steps, the run with the most work left going next, so they all finish close
    together (3 runs on 2 cores take about half their total, not the longest two end to end);
    a batch takes one place in the waiting line per worker, never one per configuration.
    """
    for i, config in enumerate(configs):
        _check(i, config)
    admit()
    sessions = [session(config, SLICE_STEPS) for config in configs]
    left = [_cost(config) for config in configs]
    waiting = set(range(len(configs)))
    outcomes: list[Outcome | None] = [None] * len(configs)

    async def worker() -> None:
        while waiting:
            i = max(waiting, key=left.__getitem__)
            waiting.remove(i)
            finished, value = await to_thread.run_sync(_advance, sessions[i], limiter=limiter())
            if finished:
                outcomes[i] = value
                record_training(configs[i].optimizer, value[0].status, value[0].steps)
            else:
                left[i] = _cost(configs[i], done=value)
                waiting.add(i)

    try:
        async with create_task_group() as group:
            for _ in range(min(len(configs), int(limiter().total_tokens))):
                group.start_soon(worker)
    except BaseExceptionGroup as failed:  # a worker's error (e.g. a 422) as the caller would see it
        raise first(failed) from None
    return [outcome for outcome in outcomes if outcome is not None]


def first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception in a (nested) exception group."""
    inner = group.exceptions[0]
    return first(inner) if isinstance(inner, BaseExceptionGroup) else inner


def _advance(run_session: Session) -> tuple[bool, Any]:
    """Run a session's next slice in this worker thread: (finished, steps done or its outcome)."""
    lower_priority()
    try:
        return False, next(run_session)
    except StopIteration as stop:
        return True, stop.value


def _cost(config: TrainConfig, done: int = 0) -> float:
    """Estimated kernel time of a configuration's steps after the first `done`, in sgd steps."""
    rows = BUILTIN_ROWS if config.y is None else len(config.y)
    return (rows * config.epochs - done) * STEP_COST[config.optimizer]


def _check(index: int, config: TrainConfig) -> None:
    """Resolve a batch member's hyperparameters, naming the member when they are wrong."""
    try:
        resolve(config.optimizer, config.hyper)
    except InvalidInput as exc:
        errors = [{**e, "loc": ["body", "configs", index, *e["loc"][1:]]} for e in exc.errors or []]
        raise InvalidInput(f"configs[{index}]: {exc.detail}", errors=errors or None) from exc
