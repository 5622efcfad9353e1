"""Request and response models of /train, /train/batch and /compare (and their plots).

One module for the three (over 250 lines for that reason): they share the run settings.

The optimizer names and the hyperparameters' descriptions are derived from the optimizer specs
(core.training.registry); the hyperparameter fields' types are checked against the specs'
domains by tests/api/schemas/test_training.py. `to_config` turns a request into the core's
resolved `TrainConfig` once, at the boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from service.api.schemas.base import Float, Schema
from service.api.schemas.graph import (
    GRAPH_DESCRIPTION,
    MAX_VECTOR,
    GraphSpec,
    graphs,
)
from service.api.schemas.graph import resolve as resolve_graph
from service.core.errors import InvalidInput
from service.core.graphs.definition import Graph
from service.core.graphs.registry import DATASET_COLUMNS, is_course
from service.core.training import registry
from service.core.training.clipping import Clipping
from service.core.training.comparison import label_runs
from service.core.training.loop import TrainConfig

if TYPE_CHECKING:
    OptimizerName = str
else:
    OptimizerName = Literal[registry.NAMES]
Rate = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
Beta = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
# The field type of each hyperparameter domain (registry.Domain.kind).
DOMAIN_TYPES: dict[str, Any] = {"rate": Rate, "fraction": Beta, "nonnegative": NonNegative}
T = TypeVar("T")


def _hyper(name: str) -> Any:
    """An optional hyperparameter field described from the specs: who takes it, its defaults."""
    users = registry.users(name)
    defaults = {user: str(registry.SPECS[user].defaults[name]).lower() for user in users}
    if len(set(defaults.values())) == 1:
        shown = next(iter(defaults.values()))
    else:
        shown = ", ".join(f"{user} {value}" for user, value in defaults.items())
    meaning = registry.DOMAINS[name].meaning
    return Field(None, description=f"{'/'.join(users)}: {meaning} (default {shown}).")


class CustomData(Schema):
    """A dataset of your own instead of the built-in one."""

    X: list[Annotated[list[Float], Field(min_length=1, max_length=MAX_VECTOR)]] = Field(
        min_length=1,
        description="Rows of the graph's inputs, in its order (course: five features f1..f5).",
    )
    y: list[Float] = Field(min_length=1, description="One target per row of X.")

    @model_validator(mode="after")
    def _same_length(self) -> CustomData:
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)} values")
        if any(len(row) != len(self.X[0]) for row in self.X):
            raise ValueError("every row of X has the same number of values")
        return self


def _course_named(spec: GraphSpec) -> bool:
    return spec is None or spec == "course"


def _length_error(want: int, got: int) -> PydanticCustomError:
    """The error the course's fixed-length list types gave before graphs."""
    short = got < want
    return PydanticCustomError(
        "too_short" if short else "too_long",
        f"List should have at {'least' if short else 'most'} {want} items after validation, "
        f"not {got}",
    )


def _mismatch(detail: str, loc: tuple[str | int, ...], short: bool) -> InvalidInput:
    """A length that does not fit the graph: a 422 whose one error points at the field."""
    kind = "too_short" if short else "too_long"
    return InvalidInput(detail, errors=[{"loc": ("body", *loc), "msg": detail, "type": kind}])


ClipValue = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NormType = Annotated[float, Field(ge=1, allow_inf_nan=False)] | Literal["inf"]
CLIPPING_ORDER = "With clip_grad_value too, values are clamped first, then the norm is clipped."


class ClipNorm(Schema):
    """torch.nn.utils.clip_grad_norm_'s arguments: scale g to at most max_norm."""

    max_norm: ClipValue = Field(description="Largest norm of g allowed; > 0.")
    norm_type: NormType = Field(
        2.0, description='p of the p-norm: a float >= 1, or "inf" for max |g_j| (default 2).'
    )

    def norm(self) -> float:
        """The norm type as a float (inf for "inf")."""
        return math.inf if self.norm_type == "inf" else self.norm_type


class OptimizerSettings(Schema):
    """An optimizer and its hyperparameters; None means the optimizer's course/torch default."""

    optimizer: OptimizerName = Field(
        "sgd",
        description=", ".join(f"{s.name} ({s.summary})" for s in registry.SPECS.values()) + ".",
    )
    learning_rate: Rate | None = _hyper("learning_rate")
    momentum: NonNegative | None = _hyper("momentum")
    dampening: NonNegative | None = _hyper("dampening")
    nesterov: bool | None = _hyper("nesterov")
    weight_decay: NonNegative | None = _hyper("weight_decay")
    beta: Beta | None = _hyper("beta")
    beta1: Beta | None = _hyper("beta1")
    beta2: Beta | None = _hyper("beta2")
    eps: Rate | None = _hyper("eps")
    bias_correction: bool | None = _hyper("bias_correction")
    amsgrad: bool | None = _hyper("amsgrad")
    alpha: Beta | None = _hyper("alpha")
    centered: bool | None = _hyper("centered")
    lr_decay: NonNegative | None = _hyper("lr_decay")
    initial_accumulator_value: NonNegative | None = _hyper("initial_accumulator_value")
    clip_grad_value: ClipValue | None = Field(
        None,
        description="Clamp each component of every per-sample gradient to [-v, v] before the "
        "update, as torch.nn.utils.clip_grad_value_(params, v) does (any optimizer). "
        + CLIPPING_ORDER,
    )
    clip_grad_norm: ClipNorm | None = Field(
        None,
        description="Scale every per-sample gradient g by min(1, max_norm / (||g||_p + 1e-6)) "
        "before the update, as torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type) does "
        "with the nine weights as one tensor (any optimizer). " + CLIPPING_ORDER,
    )

    def clipping(self) -> Clipping | None:
        """The clipping asked for, if any."""
        norm = self.clip_grad_norm
        if self.clip_grad_value is None and norm is None:
            return None
        if norm is None:
            return Clipping(value=self.clip_grad_value)
        return Clipping(self.clip_grad_value, norm.max_norm, norm.norm())

    def resolved(self) -> registry.Resolved:
        """The optimizer with every hyperparameter filled in (422 for a foreign one)."""
        return registry.resolve(
            self.optimizer,
            {name: getattr(self, name) for name in registry.HYPERPARAMETERS},
            self.clipping(),
        )


class RunSettings(Schema):
    """What a run needs besides its optimizer: epochs, starting point, sample order, data."""

    graph: GraphSpec = Field(
        None,
        description=GRAPH_DESCRIPTION + " Without 'data', its inputs must be dataset columns "
        "(f1..f5, by name).",
    )
    epochs: int = Field(20, ge=1, description="Passes over the data.")
    # At most 2**53 - 1, I-JSON's interoperable integers (RFC 7493): beyond, most JSON clients
    # (and JSON Schema tools) round the number to a float64 and cannot tell two seeds apart.
    seed: int = Field(0, ge=0, le=2**53 - 1, description="Seed of numpy's default_rng.")
    initial_weights: list[Float] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VECTOR,
        description="Start here instead of default_rng(seed).normal(0, 0.01, len(weights)): "
        "the graph's weights in its order (course: the nine weights w1..w9).",
    )
    shuffle: bool = Field(False, description="Visit rows in a fresh rng.permutation each epoch.")
    data: CustomData | None = Field(None, description="Your own X and y (default: built-in).")
    standardize: bool = Field(
        False, description="Z-score custom X with scikit-learn's StandardScaler first."
    )

    @field_validator("initial_weights")
    @classmethod
    def _course_weights(cls, value: list[float] | None, info: ValidationInfo) -> Any:
        """The course graph's nine weights are checked here, as before graphs."""
        if value is None or not _course_named(info.data.get("graph")) or len(value) == 9:
            return value
        raise _length_error(9, len(value))

    @field_validator("data")
    @classmethod
    def _course_rows(cls, value: CustomData | None, info: ValidationInfo) -> Any:
        """The course graph's rows of five features are checked here, as before graphs."""
        if value is None or not _course_named(info.data.get("graph")) or len(value.X[0]) == 5:
            return value
        raise _length_error(5, len(value.X[0]))

    def trained_graph(self) -> Graph | None:
        """The graph to train (None: the course's, on its own kernel), lengths checked."""
        graph = resolve_graph(self.graph)
        if is_course(graph):
            return None
        n, names = len(graph.weights), ", ".join(graph.weights[:20])
        if self.initial_weights is not None and len(self.initial_weights) != n:
            got = len(self.initial_weights)
            raise _mismatch(
                f"'initial_weights' has {got} values; the graph takes {n} ({names})",
                ("initial_weights",),
                got < n,
            )
        if self.data is not None:
            got, want = len(self.data.X[0]), len(graph.inputs)
            if got != want:
                raise _mismatch(
                    f"the rows of 'data.X' have {got} values; the graph takes "
                    f"{want} inputs (" + ", ".join(graph.inputs[:20]) + ")",
                    ("data", "X", 0),  # the first row: every row has its length
                    got < want,
                )
            return graph
        missing = [name for name in graph.inputs if name not in DATASET_COLUMNS]
        if missing:
            detail = (
                "training on the built-in dataset needs inputs that are its columns (f1..f5); "
                "this graph's "
                + ", ".join(repr(m) for m in missing[:10])
                + (" is not" if len(missing) == 1 else " are not")
                + "; give 'data' (X and y) instead"
            )
            raise InvalidInput(
                detail, errors=[{"loc": ("body", "data"), "msg": detail, "type": "missing"}]
            )
        return graph

    @model_validator(mode="after")
    def _standardize_needs_data(self) -> RunSettings:
        if self.standardize and self.data is None:
            raise ValueError("'standardize' applies to custom 'data' only (built-in is z-scored)")
        return self

    def with_optimizer(self, optimizer: registry.Resolved) -> TrainConfig:
        """The core's training configuration of these run settings with `optimizer`."""
        data = self.data
        graph = self.trained_graph()
        return TrainConfig(
            graph=graph,
            cache=None if graph is None else graphs().cache,
            optimizer=optimizer,
            epochs=self.epochs,
            seed=self.seed,
            initial_weights=self.initial_weights,
            shuffle=self.shuffle,
            X=None if data is None else data.X,
            y=None if data is None else data.y,
            standardize=self.standardize,
        )


class TrainRequest(RunSettings, OptimizerSettings):
    """A training configuration; every field is optional and defaults to the course's run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"optimizer": "sgd", "epochs": 20, "seed": 0},
                {"optimizer": "sgd", "epochs": 20, "seed": 0, "clip_grad_norm": {"max_norm": 1.0}},
            ]
        },
    )

    def to_config(self) -> TrainConfig:
        """The core's resolved training configuration of this request."""
        return self.with_optimizer(self.resolved())


class DivergedAt(Schema):
    """Where a diverging run stopped."""

    epoch: int = Field(description="0-based epoch in which a value turned non-finite.")
    step: int = Field(description="Number of completed updates before it.")


class ClippingInfo(Schema):
    """The gradient clipping a run applied (value first, then norm)."""

    clip_grad_value: float | None = Field(description="The clamp bound v, if clipped by value.")
    clip_grad_norm: ClipNorm | None = Field(description="max_norm and norm_type, if by norm.")


class OptimizerInfo(Schema):
    """The optimizer actually run."""

    name: OptimizerName = Field(description="The optimizer.")
    hyperparameters: dict[str, float | bool] = Field(description="Every hyperparameter used.")
    clipping: ClippingInfo | None = Field(
        description="The gradient clipping applied before each update; null if none."
    )
    rule: str = Field(
        description="The update rule, in words; with clipping, the clipping first (value, norm)."
    )
    equivalent_to: str | None = Field(
        description="The torch optimizer computing the same, if any; with clipping, the "
        "torch.nn.utils calls to make before each optimizer.step()."
    )


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

    def to_configs(self) -> list[TrainConfig]:
        """Each configuration resolved; a wrong one is named by its index."""
        return [_member(i, config.to_config) for i, config in enumerate(self.configs)]


def _member(index: int, convert: Callable[[], T]) -> T:
    """convert(), with an InvalidInput's message and locations naming the batch member."""
    try:
        return convert()
    except InvalidInput as exc:  # renamed in place, so that its type (invalid-graph, ...) stays
        errors = [{**e, "loc": ["body", "configs", index, *e["loc"][1:]]} for e in exc.errors or []]
        exc.detail = f"configs[{index}]: {exc.detail}"
        exc.errors = errors or None
        raise


class TrainBatchResponse(Schema):
    """The outcome of each configuration, in request order."""

    results: list[TrainResponse] = Field(description="What /train returns, per configuration.")


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

    def labels(self) -> list[str]:
        """Each configuration's label: given, or its optimizer's name (numbered when repeated)."""
        return label_runs([c.label for c in self.configs], [c.optimizer for c in self.configs])

    def to_configs(self) -> list[TrainConfig]:
        """One core configuration per entry, all sharing the run settings (hence start, order)."""
        return [self.with_optimizer(_member(i, c.resolved)) for i, c in enumerate(self.configs)]


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
