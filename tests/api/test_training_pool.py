"""Trainings run in threads, a bounded number at a time, while the event loop keeps answering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from service.api import training_pool
from service.core.errors import Overloaded
from service.core.training import loop as training
from service.core.training.loop import TrainConfig
from service.main import create_app
from service.settings import get_settings

LONG = {"optimizer": "adam", "epochs": 3000}  # 1.5 M steps: a few hundred ms


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One training slot and no waiting line, for this test only."""
    monkeypatch.setenv("BACKPROP_MAX_CONCURRENT_TRAININGS", "1")
    monkeypatch.setenv("BACKPROP_MAX_QUEUED_TRAININGS", "0")
    get_settings.cache_clear()
    training_pool.limiter.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    training_pool.limiter.cache_clear()


async def until(condition: Any) -> None:
    """Yield to the event loop until `condition()` holds."""
    with anyio.fail_after(30):
        while not condition():
            await anyio.sleep(0.001)


async def during_a_long_training(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """Send one request while a long /train holds a slot; what came back, and when."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        seen: dict[str, Any] = {}

        async def train() -> None:
            seen["training"] = await client.post("/train", json=LONG)

        async with anyio.create_task_group() as group:
            group.start_soon(train)
            await until(lambda: training_pool.limiter().borrowed_tokens == 1)
            seen["other"] = await client.request(method, path, json=body)
            seen["before_the_training_ended"] = "training" not in seen
        seen["after"] = await client.post("/train", json={"epochs": 1})
    return seen


def test_health_answers_while_a_long_training_runs() -> None:
    seen = anyio.run(during_a_long_training, "GET", "/health")
    assert seen["other"].status_code == 200
    assert seen["before_the_training_ended"]
    assert seen["training"].status_code == 200


@pytest.mark.usefixtures("slots")
def test_a_training_beyond_the_slots_and_the_line_gets_503_with_retry_after() -> None:
    seen = anyio.run(during_a_long_training, "POST", "/train/batch", {"configs": [{}]})
    refused = seen["other"]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems/overloaded"
    assert seen["training"].status_code == 200
    assert seen["after"].status_code == 200  # a free slot again


def test_a_batch_runs_on_every_slot_at_once() -> None:
    seen: list[float] = []

    async def scenario() -> None:
        configs = [TrainConfig.named(optimizer="adam", epochs=1500) for _ in range(4)]
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while True:
                    seen.append(training_pool.limiter().borrowed_tokens)
                    await anyio.sleep(0.001)

            group.start_soon(watch)
            outcomes = await training_pool.train_many(get_settings(), configs)
            group.cancel_scope.cancel()
        assert len({tuple(result.final_weights) for result in outcomes}) == 1

    anyio.run(scenario)
    assert (
        max(seen) == training_pool.limiter().total_tokens == get_settings().max_concurrent_trainings
    )


@pytest.mark.usefixtures("slots")
def test_execute_refuses_with_overloaded_rather_than_queueing_without_end() -> None:
    async def scenario() -> None:
        async with training_pool.limiter():
            with pytest.raises(Overloaded):
                await training_pool.train(get_settings(), TrainConfig.named(epochs=1))

    anyio.run(scenario)


def test_a_batch_s_runs_take_turns_and_equal_the_runs_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(training_pool, "SLICE_STEPS", 506 * 50)
    turns: list[tuple[int, bool]] = []
    advance = training_pool._advance

    def logged(session: Any) -> tuple[bool, Any]:
        finished, value = advance(session)
        turns.append((id(session), finished))
        return finished, value

    monkeypatch.setattr(training_pool, "_advance", logged)
    configs = [
        TrainConfig.named(optimizer="adam", epochs=400),
        TrainConfig.named(optimizer="momentum", epochs=300, shuffle=True, seed=3),
        TrainConfig.named(optimizer="sgd", epochs=500),
    ]
    outcomes = anyio.run(training_pool.train_many, get_settings(), configs)
    assert outcomes == [training.run(config) for config in configs]
    first_finish = next(n for n, (_, finished) in enumerate(turns) if finished)
    assert len({session for session, _ in turns[:first_finish]}) == len(configs)
    assert sum(finished for _, finished in turns) == len(configs)


def _cancelled(optimizer: str) -> float:
    from service.api.counters import TRAININGS

    return TRAININGS.labels(optimizer, "cancelled")._value.get()  # type: ignore[no-any-return]


@pytest.mark.usefixtures("slots")
def test_a_job_whose_client_has_gone_stops_before_its_next_slice_and_counts_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.core.errors import ClientGone

    monkeypatch.setattr(training_pool, "SLICE_STEPS", 506 * 10)
    job = training_pool.Job()
    slices: list[int] = []
    advance = training_pool._advance

    def counted(session: Any) -> tuple[bool, Any]:
        slices.append(1)
        if len(slices) == 3:
            job.gone.set()  # the client leaves during the third slice
        return advance(session)

    monkeypatch.setattr(training_pool, "_advance", counted)
    configs = [TrainConfig.named(optimizer="adagrad", epochs=1000, seed=s) for s in range(2)]
    before = _cancelled("adagrad")
    with pytest.raises(ClientGone):
        anyio.run(training_pool.train_many, get_settings(), configs, "request", job)
    assert len(slices) == 3  # no slice after the one under way
    assert _cancelled("adagrad") == before + 2
    assert training_pool.limiter().borrowed_tokens == 0  # the slots are free again


def test_progress_reports_each_slice_s_epoch_and_loss() -> None:
    seen: list[dict[str, Any]] = []

    class Recording(training_pool.Job):
        def report(self, fields: dict[str, Any], *, fresh: bool = False) -> None:
            seen.append(fields)
            super().report(fields, fresh=fresh)

    job = Recording()
    config = TrainConfig.named(optimizer="adam", epochs=600)
    (result,) = anyio.run(training_pool.train_many, get_settings(), [config], "request", job)
    assert seen, "no progress reported"
    assert [p["epoch"] for p in seen] == sorted({p["epoch"] for p in seen})
    assert seen[-1] == {"epoch": 600, "epochs": 600, "loss": result.loss_history[-1]}
    for p in seen:
        assert p["loss"] == result.loss_history[p["epoch"] - 1]
