"""Request and response models of /train."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from service.api.schemas import Float, Schema, Weights
from service.core.dataset import BUILTIN_ROWS

OptimizerName = Literal["sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"]
Rate = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
Beta = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class CustomData(Schema):
    """A dataset of your own instead of the built-in one."""

    X: list[Annotated[list[Float], Field(min_length=5, max_length=5)]] = Field(
        min_length=1, description="Rows of five features f1..f5."
    )
    y: list[Float] = Field(min_length=1, description="One target per row of X.")

    @model_validator(mode="after")
    def _same_length(self) -> CustomData:
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)} values")
        return self


class OptimizerSettings(Schema):
    """An optimizer and its hyperparameters; None means the optimizer's course/torch default."""

    optimizer: OptimizerName = Field(
        "sgd",
        description="sgd (course vanilla / torch SGD), momentum (course EMA form), adam (course "
        "form; torch Adam with bias_correction), adamw, rmsprop, adagrad (torch).",
    )
    learning_rate: Rate | None = Field(None, description="Step size; default per optimizer.")
    momentum: NonNegative | None = Field(
        None, description="sgd/rmsprop: torch's momentum factor (default 0)."
    )
    dampening: NonNegative | None = Field(None, description="sgd: torch's dampening (default 0).")
    nesterov: bool | None = Field(None, description="sgd: Nesterov momentum (default false).")
    weight_decay: NonNegative | None = Field(
        None, description="L2 penalty added to g (adamw: decoupled; default 0, adamw 0.01)."
    )
    beta: Beta | None = Field(None, description="momentum: EMA factor b (default 0.9).")
    beta1: Beta | None = Field(None, description="adam/adamw: first-moment factor (0.9).")
    beta2: Beta | None = Field(None, description="adam/adamw: second-moment factor (0.999).")
    eps: Rate | None = Field(
        None, description="adam/adamw/rmsprop/adagrad: denominator term (1e-8; adagrad 1e-10)."
    )
    bias_correction: bool | None = Field(
        None, description="adam: divide by 1-b^t as torch does (default false, as the course)."
    )
    amsgrad: bool | None = Field(None, description="adam/adamw: use max of v (default false).")
    alpha: Beta | None = Field(None, description="rmsprop: smoothing constant (default 0.99).")
    centered: bool | None = Field(None, description="rmsprop: centered variant (default false).")
    lr_decay: NonNegative | None = Field(None, description="adagrad: learning-rate decay (0).")
    initial_accumulator_value: NonNegative | None = Field(
        None, description="adagrad: starting value of the sum of squares (0)."
    )


class RunSettings(Schema):
    """What a run needs besides its optimizer: epochs, starting point, sample order, data."""

    epochs: int = Field(20, ge=1, description="Passes over the data.")
    # At most 2**53 - 1, I-JSON's interoperable integers (RFC 7493): beyond, most JSON clients
    # (and JSON Schema tools) round the number to a float64 and cannot tell two seeds apart.
    seed: int = Field(0, ge=0, le=2**53 - 1, description="Seed of numpy's default_rng.")
    initial_weights: Weights | None = Field(
        None, description="Start here instead of default_rng(seed).normal(0, 0.01, 9)."
    )
    shuffle: bool = Field(False, description="Visit rows in a fresh rng.permutation each epoch.")
    data: CustomData | None = Field(None, description="Your own X and y (default: built-in).")
    standardize: bool = Field(
        False, description="Z-score custom X with scikit-learn's StandardScaler first."
    )

    @model_validator(mode="after")
    def _standardize_needs_data(self) -> RunSettings:
        if self.standardize and self.data is None:
            raise ValueError("'standardize' applies to custom 'data' only (built-in is z-scored)")
        return self

    @property
    def rows(self) -> int:
        """Rows of the training data: the custom data's, else the built-in dataset's."""
        return BUILTIN_ROWS if self.data is None else len(self.data.y)


class TrainRequest(RunSettings, OptimizerSettings):
    """A training configuration; every field is optional and defaults to the course's run."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"optimizer": "sgd", "epochs": 20, "seed": 0}]},
    )


class DivergedAt(Schema):
    """Where a diverging run stopped."""

    epoch: int = Field(description="0-based epoch in which a value turned non-finite.")
    step: int = Field(description="Number of completed updates before it.")


class OptimizerInfo(Schema):
    """The optimizer actually run."""

    name: OptimizerName = Field(description="The optimizer.")
    hyperparameters: dict[str, float | bool] = Field(description="Every hyperparameter used.")
    rule: str = Field(description="The update rule, in words.")
    equivalent_to: str | None = Field(description="The torch optimizer computing the same, if any.")


class TrainResponse(Schema):
    """The outcome of one training run."""

    loss_history: list[float] = Field(description="Mean per-row loss of each completed epoch.")
    initial_weights: list[float] = Field(description="Weights before the first update.")
    final_weights: list[float] = Field(description="Weights after the last finite update.")
    epochs: int = Field(description="Completed epochs.")
    steps: int = Field(description="Completed per-sample updates.")
    status: Literal["completed", "diverged"] = Field(description="completed or diverged.")
    diverged_at: DivergedAt | None = Field(description="Where it diverged, if it did.")
    optimizer: OptimizerInfo = Field(description="The resolved optimizer.")


MAX_BATCH = 64


class TrainBatchRequest(Schema):
    """Several training configurations, trained in parallel across the CPU cores."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"configs": [{"optimizer": o} for o in ("sgd", "momentum", "adam")]}]
        },
    )

    configs: list[TrainRequest] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} /train request bodies; each is trained as /train would.",
    )


class TrainBatchResponse(Schema):
    """The outcome of each configuration, in request order."""

    results: list[TrainResponse] = Field(description="What /train returns, per configuration.")
