"""Request and response models of the graph endpoints: forward, backward, gradcheck, /graph.

Tested by api_tests/test_forward.py and api_tests/test_gradcheck.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from service.api.schemas.base import COURSE_W, Features, Float, Schema, Weights
from service.core.dataset import BUILTIN_ROWS, load_dataset


class Point(Schema):
    """Where to evaluate the graph: weights plus either a dataset row or explicit x and y."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"w": COURSE_W, "row": 0}]},
    )

    w: Weights
    row: int | None = Field(
        None,
        ge=0,
        lt=BUILTIN_ROWS,
        description=f"A row of the built-in dataset (0..{BUILTIN_ROWS - 1}); excludes x and y.",
    )
    x: Features | None = Field(None, description="Features f1..f5; give together with y.")
    y: Float | None = Field(None, description="Target value; give together with x.")

    @model_validator(mode="after")
    def _one_source(self) -> Point:
        if self.row is not None and (self.x is not None or self.y is not None):
            raise ValueError("give either 'row' or 'x' and 'y', not both")
        if self.row is None and (self.x is None or self.y is None):
            raise ValueError("give either 'row' (0..505) or both 'x' (5 floats) and 'y'")
        return self

    def resolve(self) -> tuple[list[float], float]:
        """(x, y): the given features and target, or those of a built-in dataset row."""
        if self.row is not None:
            data = load_dataset()
            return data.X[self.row].tolist(), float(data.y[self.row])
        assert self.x is not None  # _one_source guarantees x and y here
        assert self.y is not None
        return self.x, self.y


class ForwardResponse(Schema):
    """The forward pass's values, named as the course names them."""

    exp: float = Field(description="e^(a*a + w6), where a = w1*f1 + w2*f2.")
    tanh: float = Field(description="tanh(exp + w7).")
    sigmoid: float = Field(description="σ(sin(w3*f3)*(w4*f4 + w5*f5) + w8).")
    y_pred: float = Field(description="tanh + w9*sigmoid.")
    loss: float = Field(description="(y - y_pred)^2.")
    dy_pred: float = Field(description="dL/dy_pred = -2*(y - y_pred).")


class Gradients(Schema):
    """The gradient of the loss with respect to each weight."""

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
    gradients: Gradients = Field(description="dw1..dw9 by the chain rule.")


class GradCheckRequest(Point):
    """A point, the finite-difference step, and optionally a gradient to check."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"w": COURSE_W, "row": 0, "eps": 1e-7}]},
    )

    eps: Float = Field(1e-7, gt=0, le=1.0, description="Central-difference step.")
    gradients: Gradients | None = Field(
        None, description="A gradient to check (e.g. a student's) instead of the service's own."
    )


class GradCheckRow(Schema):
    """One weight's analytic and numerical derivative."""

    name: str = Field(description="The weight, w1..w9.")
    analytic: float = Field(description="The checked gradient (supplied, or the service's).")
    numerical: float = Field(description="(L(w + eps e_i) - L(w - eps e_i)) / (2 eps).")
    relative_error: float = Field(
        description="|analytic - numerical| / (|analytic| + |numerical|)."
    )


class Thresholds(Schema):
    """The verdict's cut-offs on the difference."""

    pass_below: float = Field(description="A difference below this passes.")
    fail_above: float = Field(description="A difference above this fails; between is 'warn'.")


class GradCheckResponse(Schema):
    """Gradient check result: per weight, and overall by the norm formula."""

    weights: list[GradCheckRow] = Field(description="One row per weight, w1..w9.")
    difference: float = Field(description="||g - n||_2 / (||g||_2 + ||n||_2); 0 when both are 0.")
    verdict: Literal["pass", "warn", "fail"] = Field(description="pass, warn or fail.")
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
