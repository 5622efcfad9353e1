"""Request and response models of the graph endpoints: forward, backward, gradcheck, /graph.

Bodies that take a `graph` carry two examples: the course's point and CS231n lecture 4's
sigmoid neuron at its published point (Swagger UI lists them by graph).

Over 250 lines: the point every graph endpoint takes (with its `graph`), and the models of the
forward, backward, gradcheck and /graphs answers, which share it.

Tested by api_tests/test_forward.py, api_tests/test_gradcheck.py and api_tests/test_graphs.py.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    JsonValue,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.api.schemas.base import COURSE_W, Float, Schema, omitted_when_null
from service.core import graph as course_graph
from service.core.dataset import BUILTIN_ROWS, load_dataset
from service.core.errors import InvalidGraph, InvalidInput
from service.core.graphs.definition import Graph
from service.core.graphs.presets import DEFAULT
from service.core.graphs.registry import (
    Registry,
    dataset_columns,
    is_course,
)
from service.settings import get_settings

MAX_VECTOR = 4096  # the schema's cap on w and x; the graph's own lengths are checked after


_last: list[Any] = [None, None, None]  # (settings, NUMBA_CACHE_DIR, registry) of the last call


def graphs() -> Registry:
    """The process's graphs: presets, the limits for inline definitions, the compiled cache."""
    s = get_settings()
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if _last[0] is s and _last[1] == numba_dir:  # every request asks: ~5 µs saved
        return _last[2]  # type: ignore[no-any-return]
    found = _last[2] = s.graph_registry()
    _last[0], _last[1] = s, numba_dir
    return found


def resolve(spec: GraphSpec, where: tuple[str, ...] = ("body", "graph")) -> Graph:
    """graphs().resolve(spec), an invalid definition's error located at `where` in the body."""
    try:
        return graphs().resolve(spec)
    except InvalidGraph as error:
        if error.errors:
            error.errors[0]["loc"] = (*where, *error.loc)
        raise


GRAPH_DESCRIPTION = (
    "The graph: a preset's name (GET /graphs lists them; default 'course', the course's graph) "
    "or an inline definition {inputs, weights, nodes, loss} (POST /graphs/check validates one)."
)
GraphSpec = str | dict[str, Any] | None


# CS231n lecture 4's published point: f = 0.73, df/dw = [-0.20, -0.39, 0.20], df/dx = [0.39, -0.59]
# (its loss is f itself, so y is not used).
CS231N_POINT: dict[str, JsonValue] = {
    "graph": "cs231n_neuron",
    "w": [2.0, -3.0, -3.0],
    "x": [-1.0, -2.0],
    "y": 0.0,
}


# inputs -> (the dataset, its rows as the graph reads them, its targets), as Python floats
_rows: dict[tuple[str, ...], tuple[Any, list[list[float]], list[float]]] = {}


def _dataset_rows(graph: Graph) -> tuple[list[list[float]], list[float]]:
    """The dataset's rows (each the graph's inputs, picked by name) and targets, made once per
    set of inputs instead of read from the arrays on every request (the same floats)."""
    data = load_dataset()
    found = _rows.get(graph.inputs)
    if found is None or found[0] is not data:
        columns = list(dataset_columns(graph))  # InvalidInput when an input is not a column
        if len(_rows) >= 256:
            _rows.clear()
        found = _rows[graph.inputs] = (data, data.X[:, columns].tolist(), data.y.tolist())
    return found[1], found[2]


def _course_named(spec: GraphSpec) -> bool:
    return spec is None or spec == DEFAULT


class Point(Schema):
    """Where to evaluate the graph: weights plus either a dataset row or explicit x and y."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"w": COURSE_W, "row": 0},
                CS231N_POINT,
            ]
        },
    )

    graph: GraphSpec = Field(None, description=GRAPH_DESCRIPTION)
    w: list[Float] = Field(
        min_length=1,
        max_length=MAX_VECTOR,
        description="The graph's weights, in its order (course: the nine weights w1..w9).",
    )
    row: int | None = Field(
        None,
        ge=0,
        lt=BUILTIN_ROWS,
        description=f"A row of the built-in dataset (0..{BUILTIN_ROWS - 1}); excludes x and y. "
        "Needs a graph whose inputs are dataset columns (f1..f5, by name).",
    )
    x: list[Float] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VECTOR,
        description="The graph's inputs, in its order (course: features f1..f5); give together "
        "with y.",
    )
    y: Float | None = Field(None, description="Target value; give together with x.")

    @model_validator(mode="after")
    def _one_source(self) -> Point:
        if self.row is not None and (self.x is not None or self.y is not None):
            raise ValueError("give either 'row' or 'x' and 'y', not both")
        if self.row is None and (self.x is None or self.y is None):
            raise ValueError("give either 'row' (0..505) or both 'x' (5 floats) and 'y'")
        return self

    @field_validator("w", "x")
    @classmethod
    def _course_lengths(cls, value: list[float] | None, info: ValidationInfo) -> Any:
        """The course graph's lengths (9 weights, 5 features) are checked here, as before."""
        want = {"w": 9, "x": 5}[str(info.field_name)]
        if value is None or not _course_named(info.data.get("graph")) or len(value) == want:
            return value
        short = len(value) < want  # the errors the fixed-length list types gave before
        raise PydanticCustomError(
            "too_short" if short else "too_long",
            f"List should have at {'least' if short else 'most'} {want} items after validation, "
            f"not {len(value)}",
        )

    def resolve_graph(self) -> Graph:
        """The graph the point names (InvalidGraph / UnknownGraph are 422s)."""
        return resolve(self.graph)

    def at(self, graph: Graph) -> tuple[list[float], float]:
        """(x, y) for `graph`: lengths checked against it, a row's columns picked by name."""
        if len(self.w) != len(graph.weights):
            raise InvalidInput(
                f"'w' has {len(self.w)} values; the graph takes {len(graph.weights)} ("
                + ", ".join(graph.weights[:20])
                + ")"
            )
        if self.row is not None:
            rows, targets = _dataset_rows(graph)
            return list(rows[self.row]), targets[self.row]
        assert self.x is not None  # _one_source guarantees x and y here
        assert self.y is not None
        if len(self.x) != len(graph.inputs):
            raise InvalidInput(
                f"'x' has {len(self.x)} values; the graph takes {len(graph.inputs)} ("
                + ", ".join(graph.inputs[:20])
                + ")"
            )
        return self.x, self.y

    def resolve(self) -> tuple[list[float], float]:
        """(x, y) of the course graph (the grading cases, which take only the course graph)."""
        graph = self.resolve_graph()
        if not is_course(graph):
            raise InvalidInput("this endpoint takes only the course graph for now")
        return self.at(graph)


class ForwardResponse(Schema):
    """The forward pass's values: every reported node (course: exp, tanh, sigmoid), then y_pred,
    loss and dy_pred = dloss/dy_pred."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "exp": 1.1272967040973583,
                    "tanh": 0.8417934192562146,
                    "sigmoid": 0.5279179387419721,
                    "y_pred": 0.8945852131304118,
                    "loss": 0.9298048963072919,
                    "dy_pred": -1.9285278284819143,
                }
            ]
        },
    )
    __pydantic_extra__: dict[str, float]


class Gradients(Schema):
    """The gradient of the loss with respect to each weight, keyed d<weight> (course: dw1..dw9)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{f"dw{i}": 0.0 for i in range(1, 10)}]},
    )
    __pydantic_extra__: dict[str, Float]


class CourseGradients(Schema):
    """The course graph's gradient: exactly dw1..dw9 (checks a supplied one)."""

    dw1: Float = Field(description="dL/dw1.")
    dw2: Float = Field(description="dL/dw2.")
    dw3: Float = Field(description="dL/dw3.")
    dw4: Float = Field(description="dL/dw4.")
    dw5: Float = Field(description="dL/dw5.")
    dw6: Float = Field(description="dL/dw6.")
    dw7: Float = Field(description="dL/dw7.")
    dw8: Float = Field(description="dL/dw8.")
    dw9: Float = Field(description="dL/dw9.")


class BackwardResponse(Schema):
    """The forward values and the analytic gradients at one point."""

    forward: ForwardResponse = Field(description="The forward pass, as /forward returns it.")
    gradients: Gradients = Field(description="d<weight> by the chain rule (course: dw1..dw9).")
    input_gradients: dict[str, float] | None = omitted_when_null(
        "d<input> by the chain rule; absent for the course graph, whose answer is "
        "kept exactly as it always was.",
    )


class GradCheckRequest(Point):
    """A point, the finite-difference step, and optionally a gradient to check."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"w": COURSE_W, "row": 0, "eps": 1e-7}, {**CS231N_POINT, "eps": 1e-7}]
        },
    )

    eps: Float = Field(1e-7, gt=0, le=1.0, description="Central-difference step.")
    gradients: Gradients | None = Field(
        None,
        description="A gradient to check (e.g. a student's) instead of the service's own, keyed "
        "d<weight> (course: dw1..dw9).",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _course_gradient_names(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """The course graph's gradient is exactly dw1..dw9, each error located as before."""
        model = handler(data)
        if _course_named(model.graph) and isinstance(model.gradients, Gradients):
            given = dict(model.gradients.__pydantic_extra__ or {})
            try:
                CourseGradients.model_validate(given)
            except ValidationError as error:
                located = [{**e, "loc": ("gradients", *e["loc"])} for e in error.errors()]
                raise ValidationError.from_exception_data(cls.__name__, located) from None  # type: ignore[arg-type]
            names = course_graph.GRADIENT_NAMES
            model.gradients = Gradients.model_validate({n: given[n] for n in names})
        return model

    def supplied(self, graph: Graph) -> list[float] | None:
        """The supplied gradient in the graph's weight order (422 naming a wrong key)."""
        if self.gradients is None:
            return None
        given = dict(self.gradients.__pydantic_extra__)
        names = [f"d{w}" for w in graph.weights]
        missing = [n for n in names if n not in given]
        unknown = [n for n in given if n not in names]
        if missing or unknown:
            raise InvalidInput(
                "'gradients' must be keyed "
                + ", ".join(names[:20])
                + (f"; missing {', '.join(missing[:10])}" if missing else "")
                + (f"; unknown {', '.join(unknown[:10])}" if unknown else "")
            )
        return [given[n] for n in names]


class GradCheckRow(Schema):
    """One weight's analytic and numerical derivative."""

    name: str = Field(description="The weight (course: w1..w9).")
    analytic: float = Field(description="The checked gradient (supplied, or the service's).")
    numerical: float = Field(description="(L(w + eps e_i) - L(w - eps e_i)) / (2 eps).")
    relative_error: float = Field(
        description="|analytic - numerical| / (|analytic| + |numerical|)."
    )
    forward_difference: float | None = omitted_when_null(
        "(L(w + eps e_i) - L(w)) / eps; absent for the course graph.",
    )
    backward_difference: float | None = omitted_when_null(
        "(L(w) - L(w - eps e_i)) / eps; absent for the course graph.",
    )
    kink: bool | None = omitted_when_null(
        "The one-sided differences disagree beyond curvature and rounding: the loss "
        "has a kink within eps (relu, abs at 0), so the central difference is no check; this "
        "weight is left out of `difference`. Absent for the course graph (smooth).",
    )


class Thresholds(Schema):
    """The verdict's cut-offs on the difference."""

    pass_below: float = Field(description="A difference below this passes.")
    fail_above: float = Field(description="A difference above this fails; between is 'warn'.")


class GradCheckResponse(Schema):
    """Gradient check result: per weight, and overall by the norm formula."""

    weights: list[GradCheckRow] = Field(description="One row per weight (course: w1..w9).")
    difference: float = Field(
        description="||g - n||_2 / (||g||_2 + ||n||_2) over the weights that are not at a kink; "
        "0 when both are 0."
    )
    verdict: Literal["pass", "warn", "fail", "kink"] = Field(
        description="pass, warn or fail by `difference`; kink when it passes but some weight is "
        "at a kink (its central difference cannot check it)."
    )
    eps: float = Field(description="The step used.")
    thresholds: Thresholds = Field(description="The cut-offs behind the verdict.")


class GraphNode(Schema):
    """One node of the graph."""

    name: str = Field(description="The course's name: f1..f5, w1..w9, y, a, exp, tanh, ...")
    kind: Literal["feature", "target", "weight", "operation"] = Field(
        description="feature, target and weight nodes are leaves; operations compute."
    )
    part: Literal["inputs", "part 1", "part 2", "part 3", "output"] = Field(
        description="Where the course's picture puts it (SPEC §1's parts)."
    )
    op: str = Field(description="The operation (or 'input', 'weight', 'target' for leaves).")
    formula: str = Field(description="How the forward pass computes the node.")
    gradient: str | None = Field(
        description="How the backward pass computes dL/d(node); null for features and y."
    )
    inputs: tuple[str, ...] = Field(description="Names of the nodes it is computed from.")


class GraphEdge(Schema):
    """Data flows from source to target in the forward pass (and back in the backward pass)."""

    source: str = Field(description="The input node.")
    target: str = Field(description="The node computed from it.")


class GraphStructure(Schema):
    """The whole graph: every node and edge with its formulas."""

    nodes: list[GraphNode] = Field(
        description="Leaves (f1..f5, w1..w9, y) and operations in forward order."
    )
    edges: list[GraphEdge] = Field(description="Every input-to-operation edge.")


class GraphSummary(Schema):
    """One preset graph."""

    name: str = Field(description="The preset's name, as `graph` takes it.")
    summary: str = Field(description="What the graph is.")
    inputs: list[str] = Field(description="The inputs, in the order `x` takes them.")
    weights: list[str] = Field(description="The weights, in the order `w` takes them.")
    id: str = Field(description="sha256 of the canonical definition: equal graphs, equal ids.")


class GraphList(Schema):
    """The presets this service knows."""

    graphs: list[GraphSummary] = Field(description="Every preset, by name.")
    default: str = Field(description="The preset used when a body gives no `graph`.")


class DefinitionNode(Schema):
    """One value of a graph definition's structure."""

    name: str = Field(description="Its name.")
    kind: Literal["input", "weight", "target", "node", "internal", "loss"] = Field(
        description="input, weight, target (y), node, internal (`_`-named, not reported) or loss."
    )
    op: str = Field(description="The operation at the root of its expression; the kind for leaves.")
    formula: str = Field(description="How the forward pass computes it.")
    inputs: tuple[str, ...] = Field(description="The names it is computed from.")
    gradient: str | None = Field(description="d<name> by the chain rule one step back; null for y.")


class GraphDescription(Schema):
    """A graph definition checked: canonical form, id, structure and each weight's derivation."""

    name: str | None = Field(description="The preset's name; null for an inline definition.")
    summary: str = Field(description="What the graph is.")
    id: str = Field(description="sha256 of the canonical definition: equal graphs, equal ids.")
    definition: dict[str, Any] = Field(
        description="The canonical definition (expressions re-printed from their parse trees)."
    )
    nodes: list[DefinitionNode] = Field(description="Leaves, then nodes in computing order.")
    edges: list[GraphEdge] = Field(description="Every (source, user) edge.")
    gradients: dict[str, str] = Field(
        description="Each weight's gradient as the chain of local derivatives back to dy_pred: "
        "the derivation a student writes."
    )
    operations: int = Field(description="Operations in all expressions together.")


class GraphCheckRequest(Schema):
    """An inline graph definition to validate."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "graph": {
                        "inputs": ["x0", "x1"],
                        "weights": ["w0", "w1", "w2"],
                        "nodes": {"y_pred": "sigmoid(w0*x0 + w1*x1 + w2)"},
                        "loss": "y_pred",
                    }
                }
            ]
        }
    )

    graph: dict[str, Any] = Field(
        description="The definition: inputs, weights, nodes (y_pred required), loss (default "
        "(y - y_pred)**2), summary."
    )
