"""Request models of /grade and /grade/batch (the answers are in grade_results.py).

(Over 250 lines: four tasks' submissions and cases, each field described.)

Tested by api_tests/test_grading.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from service.api.schemas.base import Float, Schema
from service.api.schemas.grade_results import PolicyKind
from service.api.schemas.graph import (
    MAX_VECTOR,
    GradCheckRequest,
    Gradients,
    Point,
    _course_named,
)
from service.api.schemas.training import TrainRequest
from service.core.grading.policy import Policy, resolve_policy
from service.core.grading.tasks import ITEMS
from service.core.graph import GRADIENT_NAMES
from service.core.graphs.definition import Graph
from service.core.graphs.presets import DEFAULT, builtin
from service.core.selfcheck import REFERENCE_FORWARD, REFERENCE_GRADIENTS

Format = Literal["native", "gradescope", "prairielearn"]
Feedback = Literal["verdict", "diagnosis"]
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
        None,
        description="relabs: relative tolerance (default forward and backward 1e-10, gradcheck "
        "1e-6, train 1e-9).",
    )
    atol: Tolerance | None = Field(
        None,
        description="relabs: absolute tolerance (default forward and backward 1e-13, gradcheck "
        "1e-8, train 1e-12).",
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
        description="Comparison policy, or just its kind. Default: a relative tolerance (correct "
        "float64 code may differ in the last bits, e.g. np.tanh vs math.tanh): forward and "
        "backward relabs (rtol 1e-10, atol 1e-13), gradcheck relabs (rtol 1e-6, atol 1e-8), "
        "train relabs (rtol 1e-9, atol 1e-12). 'exact' (==, the course's forward check) and "
        "'decimals' (the course's 6-decimal gradient check) stay available.",
    )
    points: Points | None = Field(
        None,
        description="Points per item (default 1 each), keyed by item name: forward exp, tanh, "
        "sigmoid, loss, dy_pred (and y_pred, graded only when submitted or named here); backward "
        "dw1..dw9; gradcheck difference, numerical, per_weight; train loss_history, "
        "final_weights. For another graph: forward every reported node, loss, dy_pred (and "
        "y_pred); backward d<weight>. Naming an optional item makes it graded even when missing.",
    )
    format: Format = Field(
        "native",
        description="native (this service's shape), gradescope (results.json) or prairielearn "
        "(external grader results).",
    )
    reveal_expected: bool = Field(
        False,
        description="Show the expected values, the errors and where a list first goes wrong. "
        "When false, no expected value, error magnitude or direction appears in any field or "
        "format: a wrong item that matches no known mistake gets the same answer whatever was "
        "submitted.",
    )
    feedback: Feedback = Field(
        "diagnosis",
        description="verdict: per item passed or failed, nothing else (exams); diagnosis: the "
        "verdict and, for a wrong item, the known mistake the whole submission matches (a "
        "catalogue id such as wrong_derivative@sin, and a sentence), if one does.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _course_shapes(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """For the course graph, the fixed shapes as before: no other submission keys, 9 values
        per weight list (another graph's are checked against it, 422 naming the length)."""
        model = handler(data)
        case = getattr(model, "case", None)
        if not _course_named(getattr(case, "graph", None)):
            return model
        errors: list[InitErrorDetails] = []
        sub = getattr(model, "submission", None)
        for key in getattr(sub, "__pydantic_extra__", None) or {}:
            errors.append(_error("extra_forbidden", "Extra inputs are not permitted",
                                 ("submission", key), data))  # fmt: skip
        lists = [(("submission", n), getattr(sub, n, None)) for n in ("numerical", "per_weight")]
        lists.append((("case", "gradients"), getattr(case, "gradients", None)))
        lists.append((("submission", "final_weights"), getattr(sub, "final_weights", None)))
        for loc, value in lists:
            if isinstance(value, list) and len(value) != 9:
                short = len(value) < 9
                errors.append(_error(
                    "too_short" if short else "too_long",
                    f"List should have at {'least' if short else 'most'} 9 items after "
                    f"validation, not {len(value)}", loc, value,
                ))  # fmt: skip
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return model

    def to_policy(self, task: str) -> Policy:
        """The core's policy for what the request gave."""
        given = self.policy
        if given is None or isinstance(given, str):
            return resolve_policy(task, given)
        return resolve_policy(task, given.kind, given.decimals, given.rtol, given.atol)

    @model_validator(mode="after")
    def _known_items(self) -> GradeOptions:
        task = getattr(self, "task", "")
        if not _course_named(getattr(getattr(self, "case", None), "graph", None)):
            return self  # another graph's items are its own: checked against it (422)
        unknown = sorted(set(self.points or {}) - set(ITEMS.get(task, ())))
        if unknown:
            raise ValueError(
                f"points: unknown item(s) {', '.join(unknown)}; the items of {task} are "
                f"{', '.join(ITEMS[task])}"
            )
        return self


def _error(kind: str, message: str, loc: tuple[str, ...], value: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": value}


def case_point(case: Point) -> tuple[Graph, list[float], float]:
    """A grading case's graph (the course's without a registry look-up) and its x and y, the
    lengths checked against the graph (422 naming them)."""
    if _course_named(case.graph):
        graph = builtin()[DEFAULT]
        if case.row is not None and len(case.w) == len(graph.weights):
            row, target = _course_row(case.row)
            return graph, list(row), target
    else:
        graph = case.resolve_graph()
    xs, y = case.at(graph)
    return graph, list(xs), y


@lru_cache(maxsize=1024)
def _course_row(row: int) -> tuple[tuple[float, ...], float]:
    """A dataset row's features and target (Point.at's, remembered per row)."""
    x, y = Point(w=[0.0] * 9, row=row).at(builtin()[DEFAULT])
    return tuple(x), y


class ForwardSubmission(Schema):
    """A student's forward values, any subset: exp, tanh, sigmoid, loss and dy_pred are graded
    (a missing one scores 0); y_pred only when submitted. For another graph than the course's:
    its reported nodes by name, y_pred, loss, dy_pred."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Float]

    exp: Float | None = Field(None, description="Submitted e^(a*a + w6).")
    tanh: Float | None = Field(None, description="Submitted tanh(exp + w7).")
    sigmoid: Float | None = Field(None, description="Submitted σ(sin(w3*f3)*q + w8).")
    y_pred: Float | None = Field(None, description="Submitted tanh + w9*sigmoid.")
    loss: Float | None = Field(None, description="Submitted (y - y_pred)^2.")
    dy_pred: Float | None = Field(None, description="Submitted -2*(y - y_pred).")


class BackwardSubmission(Schema):
    """A student's gradients; any subset (a missing one scores 0). For another graph than the
    course's: d<weight> for its weights."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Float]

    dw1: Float | None = Field(None, description="Submitted dL/dw1.")
    dw2: Float | None = Field(None, description="Submitted dL/dw2.")
    dw3: Float | None = Field(None, description="Submitted dL/dw3.")
    dw4: Float | None = Field(None, description="Submitted dL/dw4.")
    dw5: Float | None = Field(None, description="Submitted dL/dw5.")
    dw6: Float | None = Field(None, description="Submitted dL/dw6.")
    dw7: Float | None = Field(None, description="Submitted dL/dw7.")
    dw8: Float | None = Field(None, description="Submitted dL/dw8.")
    dw9: Float | None = Field(None, description="Submitted dL/dw9.")


PER_WEIGHT = Field(min_length=1, max_length=MAX_VECTOR)
PerWeight = Annotated[list[Float], PER_WEIGHT] | Annotated[list[bool], PER_WEIGHT]
Vector = Annotated[
    list[Float],
    Field(
        min_length=1,
        max_length=MAX_VECTOR,
        description="One value per weight, in the graph's order (course: w1..w9).",
    ),
]


class GradcheckSubmission(Schema):
    """A student's gradient check as their code returns it: the difference, the numerical
    gradient, and/or a per-weight comparison (numbers or booleans)."""

    difference: Float | None = Field(None, description="||g - n|| / (||g|| + ||n||).")
    numerical: Vector | None = Field(
        None,
        description="The central-difference derivatives, one per weight in order (course: w1..w9).",
    )
    per_weight: PerWeight | None = Field(
        None,
        description="A per-weight comparison the code returns instead of the difference: one "
        "per weight (course: 9), numbers (e.g. (g-n)/(g+n), |g-n|/(|g|+|n|), n-g) or booleans. "
        "Graded as what it is: "
        "never full marks (the check is one norm ratio); the diagnosis says which definition "
        "it follows.",
    )

    @model_validator(mode="after")
    def _something(self) -> GradcheckSubmission:
        if self.difference is None and self.numerical is None and self.per_weight is None:
            raise ValueError(
                "submit 'difference', 'numerical' (one float per weight), 'per_weight', or some"
            )
        return self

    def items(self) -> dict[str, float | list[float] | None]:
        """The graded items, booleans as 1.0 / 0.0."""
        pw = None if self.per_weight is None else [float(v) for v in self.per_weight]
        return {"difference": self.difference, "numerical": self.numerical, "per_weight": pw}


class GradcheckCase(GradCheckRequest):
    """The point, eps, and the gradient the student checked (a dict or 9 values in order)."""

    gradients: Gradients | Vector | None = Field(  # type: ignore[assignment]
        None,
        description="The gradient the student's check is about (their backward's): keyed "
        "d<weight> (course: dw1..dw9), or a list in the weights' order. Default: the service's "
        "own.",
    )

    def checked(self, graph: Graph | None = None) -> list[float] | None:
        """The gradient in the graph's weight order (course: 9 floats), or None."""
        if self.gradients is None or isinstance(self.gradients, list):
            return self.gradients
        if graph is not None and not _course_named(self.graph):
            return self.supplied(graph)
        return list(self.gradients.model_dump().values())


class TrainSubmission(Schema):
    """A student's training run."""

    loss_history: list[Float] = Field(
        min_length=1,
        max_length=100_000,
        description="The loss of each epoch, in order: 1..epochs entries, graded on those given.",
    )
    final_weights: list[Float] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VECTOR,
        description="The weights after the last epoch, in the graph's order (course: w1..w9).",
    )


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
    case: GradcheckCase = Field(
        description="The point, eps, and optionally the gradient checked, as POST /gradcheck "
        "takes them."
    )
    submission: GradcheckSubmission = Field(description="The student's gradient check.")


class TrainGrade(GradeOptions):
    """Grade a training run."""

    task: Literal["train"] = Field(description="train.")
    case: TrainRequest = Field(
        description="The training configuration, as POST /train takes it, on any graph (a "
        "preset's name or an inline definition; final_weights then has the graph's length)."
    )
    submission: TrainSubmission = Field(description="The student's loss history and weights.")


_ROW0: dict[str, Any] = {"w": [0.1] * 9, "row": 0}
_COURSE_FORWARD = dict(REFERENCE_FORWARD)
_COURSE_GRADIENTS: dict[str, Any] = dict(zip(GRADIENT_NAMES, REFERENCE_GRADIENTS, strict=True))
_COURSE_SGD_3_EPOCHS = [0.6971190975160021, 0.34157827684854475, 0.18041209251675192]
# One per task, the course's numbers (the first is the body Swagger UI fills in): the forward
# at the course's point, full score; backward at 6 decimals as Gradescope results.json; the
# gradient check as PrairieLearn results; the course's vanilla SGD for 3 epochs.
GRADE_EXAMPLES: list[dict[str, Any]] = [
    {"task": "forward", "case": _ROW0, "submission": _COURSE_FORWARD},
    {
        "task": "backward",
        "case": _ROW0,
        "submission": _COURSE_GRADIENTS,
        "format": "gradescope",
        "policy": "decimals",
    },
    {
        "task": "gradcheck",
        "case": {**_ROW0, "eps": 1e-7},
        "submission": {"difference": 4.169157213438978e-10},
        "format": "prairielearn",
    },
    {
        "task": "train",
        "case": {"optimizer": "sgd", "epochs": 3, "seed": 0},
        "submission": {"loss_history": _COURSE_SGD_3_EPOCHS},
    },
]

GradeRequest = Annotated[
    ForwardGrade | BackwardGrade | GradcheckGrade | TrainGrade,
    Field(discriminator="task", examples=GRADE_EXAMPLES),
]


class GradeBatchRequest(Schema):
    """Many grade requests, graded independently and in order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # a right forward, a wrong backward, and a malformed item
                    "items": [
                        GRADE_EXAMPLES[0],
                        {
                            "task": "backward",
                            "case": _ROW0,
                            "submission": {**_COURSE_GRADIENTS, "dw1": -0.114866},
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
