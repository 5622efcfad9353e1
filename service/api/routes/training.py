"""Routes of per-sample training: one run, a batch in parallel, and a comparison of optimizers.

Each answers JSON, or with `Accept: text/event-stream` its progress and then the same JSON as
server-sent events (service/api/streaming.py); either way a client that leaves stops the work.

Tested by api_tests/test_train.py, api_tests/test_train_batch.py and api_tests/test_compare.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.api import streaming, training_pool
from service.api.deps import SettingsDep
from service.api.route_classes.offload import OffloadRoute
from service.api.schemas.training import (
    CompareRequest,
    CompareResponse,
    TrainBatchRequest,
    TrainBatchResponse,
    TrainRequest,
    TrainResponse,
)
from service.core.training import comparison
from service.core.training.loop import TrainConfig, TrainResult
from service.settings import Settings

router = APIRouter(tags=["training"], route_class=OffloadRoute)


def _response(config: TrainConfig, result: TrainResult) -> dict[str, Any]:
    return {**asdict(result), "optimizer": config.optimizer.describe()}


def _refusals(settings: Settings, configs: list[TrainConfig], what: str) -> Callable[[], None]:
    """What a stream checks before it begins: the limits and admission (problem+json answers)."""
    return lambda: training_pool.ready(settings, configs, what)


@router.post(
    "/train",
    summary="Train the nine weights per sample with one optimizer",
    response_model=TrainResponse,
    responses=streaming.RESPONSES,
)
async def train(
    body: TrainRequest, settings: SettingsDep, request: Request
) -> TrainResponse | Response:
    """Run the course's per-sample training (SPEC §5) and return the loss history and weights.

    The defaults reproduce the course's vanilla run: sgd, lr 0.001, 20 epochs, seed 0. With
    `Accept: text/event-stream`, progress events (epoch, epochs, loss so far) and then this
    answer as a `result` event.
    """
    config = body.to_config()

    async def work() -> TrainResponse:
        result = await training_pool.train(settings, config)
        return TrainResponse.model_validate(_response(config, result))

    return await streaming.answer(request, work, _refusals(settings, [config], "request"))


@router.post(
    "/train/batch",
    summary="Train several configurations in parallel",
    response_model=TrainBatchResponse,
    responses=streaming.RESPONSES,
)
async def train_batch(
    body: TrainBatchRequest, settings: SettingsDep, request: Request
) -> TrainBatchResponse | Response:
    """Train each configuration as /train would, in parallel on the CPU cores; results in order.

    The runs take turns on the training slots in slices of about 131,072 steps, the one with the
    most work left going next, so they finish close together. The example runs the course's sgd,
    momentum and adam. Limits: each configuration's rows and epochs, and rows x epochs summed
    over the batch. With `Accept: text/event-stream`, progress events carry the run's index.
    """
    configs = body.to_configs()

    async def work() -> TrainBatchResponse:
        results = await training_pool.train_many(settings, configs, "batch")
        return TrainBatchResponse.model_validate(
            {"results": [_response(c, r) for c, r in zip(configs, results, strict=True)]}
        )

    return await streaming.answer(request, work, _refusals(settings, configs, "batch"))


@router.post(
    "/compare",
    summary="Train several optimizers from the same start and compare them",
    response_model=CompareResponse,
    responses=streaming.RESPONSES,
)
async def compare(
    body: CompareRequest, settings: SettingsDep, request: Request
) -> CompareResponse | Response:
    """Run each configuration as /train would, all from the same initial weights and row order.

    The defaults race the course's sgd, momentum and adam for 20 epochs from seed 0. Each run
    reports its history, its final loss (last epoch's mean; null if it diverged) and the first
    epoch whose loss is <= `threshold`. `converged_fastest` is the completed run reaching the
    threshold in the fewest epochs (ties: lower final loss, then list order); `lowest_final_loss`
    the completed run ending lowest. Limits: rows x epochs x configurations. With
    `Accept: text/event-stream`, progress events carry the run's index.
    """
    labels = body.labels()
    configs = body.to_configs()

    async def work() -> CompareResponse:
        results = await training_pool.train_many(settings, configs)
        return _compared(body, labels, configs, results)

    return await streaming.answer(request, work, _refusals(settings, configs, "request"))


def _compared(
    body: CompareRequest, labels: list[str], configs: list[TrainConfig], results: list[TrainResult]
) -> CompareResponse:
    """The comparison's answer from its runs' results."""
    ranking = comparison.rank(results, body.threshold)
    runs = zip(labels, configs, results, strict=True)

    def label(index: int | None) -> str | None:
        return None if index is None else labels[index]

    return CompareResponse.model_validate(
        {
            "runs": [
                {
                    **_response(config, result),
                    "label": name,
                    "final_loss": ranking.final_losses[i],
                    "epochs_to_threshold": ranking.epochs_to_threshold[i],
                }
                for i, (name, config, result) in enumerate(runs)
            ],
            "threshold": body.threshold,
            "converged_fastest": label(ranking.converged_fastest),
            "lowest_final_loss": label(ranking.lowest_final_loss),
        }
    )
