"""Routes drawing loss curves: one training run, or a comparison of several."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from service.api.comparison import run_all
from service.api.comparison_schemas import CompareRequest
from service.api.limits import check_training
from service.api.media import PngUnlessSvg, image, image_responses
from service.api.offload import OffloadRoute
from service.api.runner import execute
from service.api.training import to_config
from service.api.training_schemas import TrainRequest
from service.core.training import TrainResult
from service.render import loss_figure
from service.render.spec import PNG, Curve
from service.settings import Settings, get_settings

router = APIRouter(tags=["plots"], route_class=OffloadRoute)

LogScale = Annotated[
    bool, Query(description="Draw the loss axis on a log scale (losses are kept >= 1e-200).")
]
CURVES = image_responses(
    "The loss curves: PNG (800 x 500) by default, SVG when `Accept` prefers `image/svg+xml`.",
    PNG,
)


def _legend(label: str, result: TrainResult) -> str:
    if result.diverged_at is None:
        return label
    return f"{label} (diverged in epoch {result.diverged_at['epoch'] + 1})"


@router.post(
    "/train/plot",
    summary="Loss curve of one training run, as PNG or SVG",
    response_class=Response,
    responses=CURVES,
)
async def plot_training(
    body: TrainRequest,
    settings: Annotated[Settings, Depends(get_settings)],
    media_type: PngUnlessSvg,
    log: LogScale = False,
) -> Response:
    """Train as `POST /train` does (same body) and draw mean loss against epoch.

    Answers `image/png` unless `Accept` ranks `image/svg+xml` higher; `?log=true` for a log
    scale. The defaults draw the course's vanilla run (sgd, lr 0.001, 20 epochs, seed 0).
    """
    check_training(settings, body.rows, body.epochs)
    result, optimizer = await execute(to_config(body))
    curves = [Curve(_legend(optimizer["name"], result), result.loss_history)]
    title = f"Training loss: {optimizer['name']}, {body.epochs} epochs, seed {body.seed}"
    return await image(media_type, partial(loss_figure, curves, title=title, log=log))


@router.post(
    "/compare/plot",
    summary="Loss curves of several optimizers from the same start, as PNG or SVG",
    response_class=Response,
    responses=CURVES,
)
async def plot_comparison(
    body: CompareRequest,
    settings: Annotated[Settings, Depends(get_settings)],
    media_type: PngUnlessSvg,
    log: LogScale = False,
) -> Response:
    """Run `POST /compare` (same body) and draw one labelled loss line per configuration.

    Answers `image/png` unless `Accept` ranks `image/svg+xml` higher; `?log=true` for a log
    scale. The defaults draw the course's sgd, momentum and adam for 20 epochs from seed 0.
    """
    runs = await run_all(body, settings)
    curves = [
        Curve(_legend(label, result), result.loss_history)
        for label, result in zip(runs.labels, runs.results, strict=True)
    ]
    title = (
        f"Loss per epoch from the same start and row order ({body.epochs} epochs, seed {body.seed})"
    )
    return await image(media_type, partial(loss_figure, curves, title=title, log=log))
