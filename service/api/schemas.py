"""Request and response models shared by the graph endpoints, on one strict base."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.core.dataset import BUILTIN_ROWS

COURSE_W: list[Any] = [0.1] * 9
COURSE_ROW0_X = [
    -1.287909498957745,
    -0.12001341619804987,
    -1.4590003802772022,
    -0.6666082090210984,
    -0.14421743255530314,
]
COURSE_ROW0_Y = 1.858849127371369


class Schema(BaseModel):
    """Strict base: unknown fields rejected, only finite numbers, no strings for numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_floats_as_ints(cls, data: Any) -> Any:
        """JSON (and OpenAPI's 'integer') does not tell 3 from 3.0: an int field takes 3.0 as 3."""
        if not isinstance(data, dict):
            return data
        ints = {
            name: int(value)
            for name in _int_fields(cls)
            if isinstance(value := data.get(name), float) and value.is_integer()
        }
        return {**data, **ints} if ints else data


@cache
def _int_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Names of a model's fields typed int or int | None."""

    def takes_int(annotation: Any) -> bool:
        if get_origin(annotation) in (Union, types.UnionType):
            return int in get_args(annotation) and all(
                arg in (int, type(None)) for arg in get_args(annotation)
            )
        return annotation is int

    return tuple(
        field.alias or name
        for name, field in model.model_fields.items()
        if takes_int(field.annotation)
    )


Float = Annotated[float, Field(allow_inf_nan=False)]
Weights = Annotated[
    list[Float],
    Field(min_length=9, max_length=9, description="The nine weights w1..w9, in order."),
]
Features = Annotated[
    list[Float],
    Field(min_length=5, max_length=5, description="The five features f1..f5, in order."),
]


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
