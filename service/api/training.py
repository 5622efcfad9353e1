"""Route of per-sample training."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends

from service.api.limits import check_batch, check_training
from service.api.offload import OffloadRoute
from service.api.runner import execute, execute_many
from service.api.training_schemas import (
    TrainBatchRequest,
    TrainBatchResponse,
    TrainRequest,
    TrainResponse,
)
from service.core.registry import HYPERPARAMETERS
from service.core.training import TrainConfig
from service.settings import Settings, get_settings

router = APIRouter(tags=["training"], route_class=OffloadRoute)


def to_config(body: TrainRequest) -> TrainConfig:
    """The core's training configuration for a request."""
    data = body.data
    return TrainConfig(
        optimizer=body.optimizer,
        hyper={name: getattr(body, name) for name in HYPERPARAMETERS},
        epochs=body.epochs,
        seed=body.seed,
        initial_weights=body.initial_weights,
        shuffle=body.shuffle,
        X=None if data is None else data.X,
        y=None if data is None else data.y,
        standardize=body.standardize,
    )


@router.post("/train", summary="Train the nine weights per sample with one optimizer")
async def train(
    body: TrainRequest, settings: Annotated[Settings, Depends(get_settings)]
) -> TrainResponse:
    """Run the course's per-sample training (SPEC §5) and return the loss history and weights.

    The defaults reproduce the course's vanilla run: sgd, lr 0.001, 20 epochs, seed 0.
    """
    check_training(settings, body.rows, body.epochs)
    result, optimizer = await execute(to_config(body))
    return TrainResponse.model_validate({**asdict(result), "optimizer": optimizer})


@router.post("/train/batch", summary="Train several configurations in parallel")
async def train_batch(
    body: TrainBatchRequest, settings: Annotated[Settings, Depends(get_settings)]
) -> TrainBatchResponse:
    """Train each configuration as /train would, in parallel on the CPU cores; results in order.

    The runs take turns on the training slots in slices of about 131,072 steps, the one with the
    most work left going next, so they finish close together. The example runs the course's sgd,
    momentum and adam. Limits: each configuration's rows and epochs, and rows x epochs summed
    over the batch.
    """
    check_batch(settings, [(c.rows, c.epochs) for c in body.configs])
    outcomes = await execute_many([to_config(c) for c in body.configs])
    results = [{**asdict(result), "optimizer": optimizer} for result, optimizer in outcomes]
    return TrainBatchResponse.model_validate({"results": results})
