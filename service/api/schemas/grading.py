"""Request models of /grade and /grade/batch (the answers are in grade_results.py).

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from service.api.schemas.base import Float, Schema, Weights
from service.api.schemas.grade_results import PolicyKind
from service.api.schemas.graph import GradCheckRequest, Point
from service.api.schemas.training import TrainRequest
from service.core.grading.policy import Policy, resolve_policy
from service.core.grading.tasks import ITEMS

Format = Literal["native", "gradescope", "prairielearn"]
Tolerance = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class PolicySpec(Schema):
    """How submitted numbers are compared; unset fields take the task's course default."""

    kind: PolicyKind = Field(
        description="exact: ==; decimals: round both to `decimals`, then ==; relabs: pass when "
        "|submitted - expected| <= atol or <= rtol*|expected|."
    )
    decimals: int | None = Field(
        None, ge=0, le=17, description="decimals: digits after the point (default 6)."
    )
    rtol: Tolerance | None = Field(
        None, description="relabs: relative tolerance (gradcheck and train 1e-6, else 1e-9)."
    )
    atol: Tolerance | None = Field(
        None, description="relabs: absolute tolerance (gradcheck 1e-8, train 1e-10, else 0)."
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> PolicySpec:
        if self.decimals is not None and self.kind != "decimals":
            raise ValueError("'decimals' applies to kind 'decimals' only")
        if (self.rtol is not None or self.atol is not None) and self.kind != "relabs":
            raise ValueError("'rtol' and 'atol' apply to kind 'relabs' only")
        return self


Points = dict[str, Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]]


class GradeOptions(Schema):
    """What every grade request carries besides its task, case and submission."""

    policy: PolicySpec | PolicyKind | None = Field(
        None,
        description="Comparison policy, or just its kind. Default: the course's check for the "
        "task: forward exact, backward 6 decimals, gradcheck relabs (rtol 1e-6, atol 1e-8), "
        "train relabs (rtol 1e-6, atol 1e-10).",
    )
    points: Points | None = Field(
        None,
        description="Points per item (default 1 each), keyed by item name: forward exp..dy_pred; "
        "backward dw1..dw9; gradcheck difference, numerical.w1..numerical.w9; train "
        "loss_history, final_weights. Naming an optional item makes it graded even when missing.",
    )
    format: Format = Field(
        "native",
        description="native (this service's shape), gradescope (results.json) or prairielearn "
        "(external grader results).",
    )
    reveal_expected: bool = Field(
        False,
        description="Show the expected values in the feedback. When false, no expected value "
        "appears anywhere and errors are given as a power of ten only.",
    )

    def to_policy(self, task: str) -> Policy:
        """The core's policy for what the request gave."""
        given = self.policy
        if given is None or isinstance(given, str):
            return resolve_policy(task, given)
        return resolve_policy(task, given.kind, given.decimals, given.rtol, given.atol)

    @model_validator(mode="after")
    def _known_items(self) -> GradeOptions:
        task = getattr(self, "task", "")
        unknown = sorted(set(self.points or {}) - set(ITEMS.get(task, ())))
        if unknown:
            raise ValueError(
                f"points: unknown item(s) {', '.join(unknown)}; the items of {task} are "
                f"{', '.join(ITEMS[task])}"
            )
        return self


class ForwardSubmission(Schema):
    """A student's forward values; any subset (a missing one scores 0)."""

    exp: Float | None = Field(None, description="Submitted e^(a*a + w6).")
    tanh: Float | None = Field(None, description="Submitted tanh(exp + w7).")
    sigmoid: Float | None = Field(None, description="Submitted σ(sin(w3*f3)*q + w8).")
    y_pred: Float | None = Field(None, description="Submitted tanh + w9*sigmoid.")
    loss: Float | None = Field(None, description="Submitted (y - y_pred)^2.")
    dy_pred: Float | None = Field(None, description="Submitted -2*(y - y_pred).")


class BackwardSubmission(Schema):
    """A student's gradients; any subset (a missing one scores 0)."""

    dw1: Float | None = Field(None, description="Submitted dL/dw1.")
    dw2: Float | None = Field(None, description="Submitted dL/dw2.")
    dw3: Float | None = Field(None, description="Submitted dL/dw3.")
    dw4: Float | None = Field(None, description="Submitted dL/dw4.")
    dw5: Float | None = Field(None, description="Submitted dL/dw5.")
    dw6: Float | None = Field(None, description="Submitted dL/dw6.")
    dw7: Float | None = Field(None, description="Submitted dL/dw7.")
    dw8: Float | None = Field(None, description="Submitted dL/dw8.")
    dw9: Float | None = Field(None, description="Submitted dL/dw9.")


class GradcheckSubmission(Schema):
    """A student's gradient check: the difference and/or the numerical gradient."""

    difference: Float | None = Field(None, description="||g - n|| / (||g|| + ||n||).")
    numerical: Weights | None = Field(
        None, description="The central-difference derivatives for w1..w9, in order."
    )

    @model_validator(mode="after")
    def _something(self) -> GradcheckSubmission:
        if self.difference is None and self.numerical is None:
            raise ValueError("submit 'difference', 'numerical' (9 floats), or both")
        return self


class TrainSubmission(Schema):
    """A student's training run."""

    loss_history: list[Float] = Field(
        min_length=1, max_length=100_000, description="The loss of each epoch, in order."
    )
    final_weights: Weights | None = Field(None, description="w1..w9 after the last epoch.")


class ForwardGrade(GradeOptions):
    """Grade a forward pass."""

    task: Literal["forward"] = Field(description="forward.")
    case: Point = Field(description="The point, as POST /forward takes it.")
    submission: ForwardSubmission = Field(description="The student's forward values.")


class BackwardGrade(GradeOptions):
    """Grade a backward pass."""

    task: Literal["backward"] = Field(description="backward.")
    case: Point = Field(description="The point, as POST /backward takes it.")
    submission: BackwardSubmission = Field(description="The student's gradients.")


class GradcheckGrade(GradeOptions):
    """Grade a gradient check."""

    task: Literal["gradcheck"] = Field(description="gradcheck.")
    case: GradCheckRequest = Field(
        description="The point, eps, and optionally the gradient checked, as POST /gradcheck "
        "takes them."
    )
    submission: GradcheckSubmission = Field(description="The student's gradient check.")


class TrainGrade(GradeOptions):
    """Grade a training run."""

    task: Literal["train"] = Field(description="train.")
    case: TrainRequest = Field(description="The training configuration, as POST /train takes it.")
    submission: TrainSubmission = Field(description="The student's loss history and weights.")


GradeRequest = Annotated[
    ForwardGrade | BackwardGrade | GradcheckGrade | TrainGrade, Field(discriminator="task")
]


class GradeBatchRequest(Schema):
    """Many grade requests, graded independently and in order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "task": "forward",
                            "case": {"w": [0.1] * 9, "row": 0},
                            "submission": {"dy_pred": -1.9285278284819143},
                        },
                        {"task": "forward", "case": {"w": [0.1] * 8, "row": 0}, "submission": {}},
                    ]
                }
            ]
        }
    )

    items: list[Any] = Field(
        min_length=1,
        description="Grade requests, each exactly as POST /grade takes it; at most "
        "BACKPROP_MAX_GRADE_BATCH (1000). Each is validated on its own: a malformed one comes "
        "back gradable: false and does not affect the others.",
    )
