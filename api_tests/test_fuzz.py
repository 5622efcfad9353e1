"""Schemathesis against the app's own OpenAPI: every check at its defaults, open app and keyed.

No check is replaced or excluded. The document states what JSON Schema can (security only when
keyed, the configured limits, the cross-field rules, every status with its problem schema: see
service/api/openapi.py). Schema-valid requests the service still refuses for a reason no JSON
Schema can state are accepted by a `filter_failure` hook, schemathesis's way to drop failures
that are not the API's fault, and only these, each named with its reason (`UNSTATABLE`):

- `/problems/numerical-overflow`: a node of the graph overflows float64 for the given numbers
  (e.g. exp(a*a) with |a| > 26.6); which inputs overflow is a property of the computation.
- `/problems/limit-exceeded`: the total-steps budget, rows x epochs x configurations summed over
  a request, a product across fields (the apps below set it above the product of the stated
  maxima, so it should never fire; it is named in case a limit is added to the document).
- CustomData's "X and y have the same length" and "every row of X has the same number of values":
  JSON Schema cannot relate two arrays' lengths.
- Lengths and keys that follow the body's `graph` (w, x, initial_weights, data rows, final_weights,
  gradient and submission keys): the course's when no graph is given, a preset's or a
  definition's otherwise.

The apps run with small limits (stated in their documents) so each training stays short.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi.checks import RejectedPositiveData

from service.main import create_app
from service.settings import Settings, get_settings

KEY = "fuzz-key-5b2e"
# Rows at least the built-in 506 (fewer would refuse every run on the built-in data).
# Epochs at least the default 20 (a maximum below a default refuses a request that omits it).
LIMITS = {"max_epochs": 20, "max_dataset_rows": 506, "max_grade_batch": 20}
# Per operation and app (FUZZ_EXAMPLES to change it): ~2 minutes per app on the CI machine.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Problem type -> what its detail says (None: any detail).
UNSTATABLE = {
    "/problems/numerical-overflow": None,  # float64 overflow inside the graph
    "/problems/limit-exceeded": "BACKPROP_MAX_TOTAL_STEPS",  # the budget across fields
    # A graph definition's validity is a grammar the schema cannot state, and a preset name one
    # the configuration decides.
    "/problems/invalid-graph": None,
    "/problems/unknown-graph": None,
    # Lengths and keys that follow the body's `graph` (a preset's or an inline definition's).
    "/problems/invalid-input": ("the graph takes", "this graph's", "must be keyed", "course graph"),
}
SAME_LENGTH = "but y has"  # CustomData._same_length's message: X's and y's lengths differ
RAGGED = "every row of X has the same number of values"  # its other: rows of equal length


def _app(**fields: Any) -> Any:
    app = create_app()
    app_settings = Settings(**LIMITS, **fields)
    assert app_settings.max_total_steps >= 20 * 506 * 64  # epochs x built-in rows x batch size
    app.dependency_overrides[get_settings] = lambda: app_settings
    return app


def is_unstatable(failure: Any, response: Any) -> bool:
    """A schema-valid request refused for one of the reasons named in the module docstring."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return False
    problem = response.json()
    kind = problem.get("type")
    if kind in UNSTATABLE:
        said = UNSTATABLE[kind]
        if said is None:
            return True
        detail = problem.get("detail", "")
        return any(phrase in detail for phrase in ((said,) if isinstance(said, str) else said))
    # X's and y's lengths differ; or w and x do not have the lengths of the body's `graph`
    # (the course's 9 and 5 when none is given): both depend on another field's value.
    return problem.get("type") == "/problems/validation" and all(
        SAME_LENGTH in error.get("msg", "")
        or RAGGED in error.get("msg", "")
        or (
            error.get("type") in ("too_short", "too_long")
            and str(error.get("loc", "")).endswith(
                # a training's initial weights and data rows: the graph's weights and inputs
                (".w", ".x", ".numerical", ".per_weight", ".gradients", ".initial_weights")
                + (".data", ".final_weights")
            )
        )
        # a grading submission's keys are the graph's items (the course's fixed ones)
        or (error.get("type") == "extra_forbidden" and ".submission." in str(error.get("loc", "")))
        # a gradient's keys are the graph's d<weight> names (the course's dw1..dw9)
        or (
            error.get("type") in ("extra_forbidden", "missing")
            and ".gradients." in str(error.get("loc", ""))
        )
        for error in problem.get("errors", [])
    )


def keep_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """schemathesis filter_failure hook: every failure counts except the unstatable refusals."""
    return not is_unstatable(failure, response)


open_schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
open_schema.hook("filter_failure")(keep_failure)
keyed_schema = schemathesis.openapi.from_asgi("/openapi.json", _app(api_keys=KEY))
keyed_schema.hook("filter_failure")(keep_failure)


@keyed_schema.auth()
class BearerKey:
    """The key, through schemathesis (so its cases without credentials stay without them)."""

    def get(self, case: Any, context: Any) -> str:
        """The configured key."""
        return KEY

    def set(self, case: Any, data: str, context: Any) -> None:
        """Send it as a bearer token."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.fuzz
@open_schema.parametrize()
@FUZZ
def test_an_open_app_keeps_its_document_under_every_check(case: Any) -> None:
    case.call_and_validate()


@pytest.mark.fuzz
@keyed_schema.parametrize()
@FUZZ
def test_a_keyed_app_keeps_its_document_under_every_check(case: Any) -> None:
    case.call_and_validate()


def test_the_unstatable_refusals_are_only_422s_of_the_named_kinds() -> None:
    class Response:
        def __init__(self, status: int, body: dict[str, Any]) -> None:
            self.status_code, self._body = status, body

        def json(self) -> dict[str, Any]:
            return self._body

    rejected = RejectedPositiveData(
        operation="POST /forward", message="", status_code=422, allowed_statuses=["2xx"]
    )
    overflow = {"type": "/problems/numerical-overflow"}
    assert is_unstatable(rejected, Response(422, overflow))
    assert not is_unstatable(rejected, Response(400, overflow))
    assert not is_unstatable(rejected, Response(422, {"type": "/problems/invalid-input"}))
    graph_x = {"type": "/problems/invalid-input", "detail": "'x' has 1 values; the graph takes 2"}
    assert is_unstatable(rejected, Response(422, graph_x))
    rows = {"type": "/problems/limit-exceeded", "detail": "(BACKPROP_MAX_DATASET_ROWS)"}
    assert not is_unstatable(rejected, Response(422, rows))
    other = {"type": "/problems/validation", "errors": [{"msg": "give either 'row' or 'x'"}]}
    assert not is_unstatable(rejected, Response(422, other))
    lengths = {"type": "/problems/validation", "errors": [{"msg": "X has 2 rows but y has 1"}]}
    assert is_unstatable(rejected, Response(422, lengths))
    short_w = {"type": "/problems/validation", "errors": [{"type": "too_short", "loc": "body.w"}]}
    assert is_unstatable(rejected, Response(422, short_w))
    key = {
        "type": "/problems/validation",
        "errors": [{"type": "extra_forbidden", "loc": "body.gradients.q"}],
    }
    assert is_unstatable(rejected, Response(422, key))
    assert is_unstatable(rejected, Response(422, {"type": "/problems/invalid-graph"}))
