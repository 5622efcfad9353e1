"""Request and response models of /compare (and /compare/plot)."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from service.api.schemas import Float, Schema
from service.api.training_schemas import (
    OptimizerName,
    OptimizerSettings,
    RunSettings,
    TrainResponse,
)

COURSE_OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "momentum", "adam")
MAX_CONFIGS = 10
DEFAULT_THRESHOLD = 0.01
COURSE_COMPARISON: JsonDict = {
    "configs": [{"optimizer": name} for name in COURSE_OPTIMIZERS],
    "epochs": 20,
    "seed": 0,
    "threshold": DEFAULT_THRESHOLD,
}


class CompareConfig(OptimizerSettings):
    """One configuration to compare: an optimizer, its hyperparameters, and a label."""

    label: str | None = Field(
        None,
        min_length=1,
        max_length=60,
        description="Name of this run in the response and the plot's legend; default: the "
        "optimizer's name, with ' #<position>' appended when the optimizer repeats.",
    )


def _course_configs() -> list[CompareConfig]:
    return [CompareConfig(optimizer=name) for name in COURSE_OPTIMIZERS]


class CompareRequest(RunSettings):
    """Optimizers to race; all start from the same weights and see the rows in the same order."""

    model_config = ConfigDict(json_schema_extra={"examples": [COURSE_COMPARISON]})

    configs: list[CompareConfig] = Field(
        default_factory=_course_configs,
        min_length=1,
        max_length=MAX_CONFIGS,
        description="The configurations (default: the course's sgd, momentum and adam with "
        "the course's settings). Epochs, seed, initial weights, shuffle and data are shared.",
    )
    threshold: Float = Field(
        DEFAULT_THRESHOLD,
        gt=0,
        description="Loss level for 'epochs_to_threshold' and 'converged_fastest'.",
    )


class CompareRun(TrainResponse):
    """One configuration's run, as /train reports it, plus how it compares."""

    label: str = Field(description="The run's label (given, or the optimizer's name).")
    final_loss: float | None = Field(
        description="The last epoch's mean loss; null when the run diverged."
    )
    epochs_to_threshold: int | None = Field(
        description="First epoch (1-based) whose mean loss is <= threshold; null if none."
    )


class CompareResponse(Schema):
    """Every run and which did best."""

    runs: list[CompareRun] = Field(description="One per configuration, in request order.")
    threshold: float = Field(description="The threshold used.")
    converged_fastest: str | None = Field(
        description="Label of the completed run that reached the threshold in the fewest "
        "epochs (ties: lower final loss, then earlier in the list); null if none reached it."
    )
    lowest_final_loss: str | None = Field(
        description="Label of the completed run with the lowest final loss (ties: earlier in "
        "the list); null if every run diverged."
    )
