"""Routes drawing loss curves: one training run, or a comparison of several.

Tested by api_tests/test_plots.py.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api import training_pool
from service.api.deps import PngUnlessSvg, SettingsDep
from service.api.media import image, image_responses
from service.api.route_classes.offload import OffloadRoute
from service.api.schemas.graph import GraphSpec
from service.api.schemas.graph import resolve as resolve_graph
from service.api.schemas.training import CompareRequest, TrainRequest
from service.core.graphs.definition import Graph
from service.core.graphs.presets import DEFAULT
from service.core.training.loop import TrainResult
from service.render import loss_figure
from service.render.spec import PNG, Curve

router = APIRouter(tags=["plots"], route_class=OffloadRoute)

LogScale = Annotated[
    bool, Query(description="Draw the loss axis on a log scale (losses are kept >= 1e-200).")
]
CURVES = image_responses(
    "The loss curves: PNG (800 x 500) by default, SVG when `Accept` prefers `image/svg+xml`.",
    PNG,
)


def _graph_named(spec: GraphSpec, trained: Graph | None) -> str | None:
    """How a plot names the graph trained: None for the course's, its preset name, or the
    first 8 hex digits of an inline definition's id."""
    if spec is None or spec == DEFAULT:
        return None
    if isinstance(spec, str):
        return f"graph {spec}"
    graph = trained if trained is not None else resolve_graph(spec)  # None: equal to the course
    return f"inline graph {graph.id[:8]}"


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
    request: Request,
    body: TrainRequest,
    settings: SettingsDep,
    media_type: PngUnlessSvg,
    log: LogScale = False,
) -> Response:
    """Train as `POST /train` does (same body) and draw mean loss against epoch.

    Answers `image/png` unless `Accept` ranks `image/svg+xml` higher; `?log=true` for a log
    scale. The defaults draw the course's vanilla run (sgd, lr 0.001, 20 epochs, seed 0).
    """
    config = body.to_config()
    result = await training_pool.watched(request, lambda: training_pool.train(settings, config))
    name = config.optimizer.name
    curves = [Curve(_legend(name, result), result.loss_history)]
    title = f"Training loss: {name}, {body.epochs} epochs, seed {body.seed}"
    graph = _graph_named(body.graph, config.graph)
    draw = partial(loss_figure, curves, title=title, log=log, graph=graph)
    return await image(media_type, draw)


@router.post(
    "/compare/plot",
    summary="Loss curves of several optimizers from the same start, as PNG or SVG",
    response_class=Response,
    responses=CURVES,
)
async def plot_comparison(
    request: Request,
    body: CompareRequest,
    settings: SettingsDep,
    media_type: PngUnlessSvg,
    log: LogScale = False,
) -> Response:
    """Run `POST /compare` (same body) and draw one labelled loss line per configuration.

    Answers `image/png` unless `Accept` ranks `image/svg+xml` higher; `?log=true` for a log
    scale. The defaults draw the course's sgd, momentum and adam for 20 epochs from seed 0.
    """
    labels = body.labels()
    configs = body.to_configs()
    results = await training_pool.watched(
        request, lambda: training_pool.train_many(settings, configs)
    )
    curves = [
        Curve(_legend(label, result), result.loss_history)
        for label, result in zip(labels, results, strict=True)
    ]
    title = (
        f"Loss per epoch from the same start and row order ({body.epochs} epochs, seed {body.seed})"
    )
    graph = _graph_named(body.graph, configs[0].graph)
    draw = partial(loss_figure, curves, title=title, log=log, graph=graph)
    return await image(media_type, draw)
