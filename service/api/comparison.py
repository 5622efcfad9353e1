"""Route of the optimizer comparison, and the runs it shares with /compare/plot."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from service.api.comparison_schemas import CompareRequest, CompareResponse
from service.api.limits import check_training
from service.api.offload import OffloadRoute
from service.api.runner import execute_many
from service.api.training import to_config
from service.api.training_schemas import RunSettings, TrainRequest
from service.core import comparison
from service.core.registry import HYPERPARAMETERS
from service.core.training import TrainConfig, TrainResult
from service.settings import Settings, get_settings

router = APIRouter(tags=["training"], route_class=OffloadRoute)
RUN_FIELDS = set(RunSettings.model_fields)


@dataclass(frozen=True)
class Runs:
    """Each configuration's label, result and resolved optimizer, in request order."""

    labels: list[str]
    results: list[TrainResult]
    optimizers: list[dict[str, Any]]


def to_configs(body: CompareRequest) -> list[TrainConfig]:
    """One core configuration per entry, all sharing the run settings (hence start and order)."""
    # the run settings were validated with the body: taken as they are, not dumped and re-read
    shared = to_config(TrainRequest.model_construct(**{n: getattr(body, n) for n in RUN_FIELDS}))
    return [
        replace(shared, optimizer=c.optimizer, hyper={n: getattr(c, n) for n in HYPERPARAMETERS})
        for c in body.configs
    ]


async def run_all(body: CompareRequest, settings: Settings) -> Runs:
    """Check the limits, label the configurations, and train them all."""
    check_training(settings, body.rows, body.epochs, len(body.configs))
    labels = comparison.label_runs(
        [c.label for c in body.configs], [c.optimizer for c in body.configs]
    )
    outcomes = await execute_many(to_configs(body))
    return Runs(labels, [r for r, _ in outcomes], [o for _, o in outcomes])


@router.post("/compare", summary="Train several optimizers from the same start and compare them")
async def compare(
    body: CompareRequest, settings: Annotated[Settings, Depends(get_settings)]
) -> CompareResponse:
    """Run each configuration as /train would, all from the same initial weights and row order.

    The defaults race the course's sgd, momentum and adam for 20 epochs from seed 0. Each run
    reports its history, its final loss (last epoch's mean; null if it diverged) and the first
    epoch whose loss is <= `threshold`. `converged_fastest` is the completed run reaching the
    threshold in the fewest epochs (ties: lower final loss, then list order); `lowest_final_loss`
    the completed run ending lowest. Limits: rows x epochs x configurations.
    """
    return summarize(await run_all(body, settings), body.threshold)


def summarize(runs: Runs, threshold: float) -> CompareResponse:
    """The response: every run with its comparison figures, and the winners' labels."""
    ranking = comparison.rank(runs.results, threshold)
    entries = zip(runs.labels, runs.results, runs.optimizers, strict=True)
    return CompareResponse.model_validate(
        {
            "runs": [
                {
                    **asdict(result),
                    "optimizer": optimizer,
                    "label": label,
                    "final_loss": ranking.final_losses[i],
                    "epochs_to_threshold": ranking.epochs_to_threshold[i],
                }
                for i, (label, result, optimizer) in enumerate(entries)
            ],
            "threshold": threshold,
            "converged_fastest": _label(runs, ranking.converged_fastest),
            "lowest_final_loss": _label(runs, ranking.lowest_final_loss),
        }
    )


def _label(runs: Runs, index: int | None) -> str | None:
    return None if index is None else runs.labels[index]
