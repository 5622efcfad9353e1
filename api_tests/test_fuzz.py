"""Schemathesis against the app's own OpenAPI: all of its checks, 200 examples per operation.

One check is made stricter rather than turned off: schemathesis's positive_data_acceptance wants
every schema-valid request accepted, but three refusals cannot be stated in a JSON Schema (a
float64 overflow inside the graph, a configured limit, a rule across fields such as "X and y
have the same length"). Schema-valid requests may get exactly those 422s, and nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.main import create_app
from service.settings import Settings, get_settings

KEY = "fuzz-key-5b2e"
FUZZ_SETTINGS = Settings(api_keys=KEY)
ACCEPTED = range(200, 300)
# Overflow, a configured limit, or a value another field rules out (the core's invalid-input).
# A graph definition's validity is a grammar the schema cannot state (invalid-graph), and a
# preset name one the configuration decides (unknown-graph).
UNSTATABLE = {
    "/problems/numerical-overflow",
    "/problems/limit-exceeded",
    "/problems/invalid-input",
    "/problems/invalid-graph",
    "/problems/unknown-graph",
}

app = create_app()
app.dependency_overrides[get_settings] = lambda: FUZZ_SETTINGS
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.auth()
class BearerKey:
    """The key, through schemathesis (so its cases without credentials stay without them)."""

    def get(self, case: Any, context: Any) -> str:
        """The configured key."""
        return KEY

    def set(self, case: Any, data: str, context: Any) -> None:
        """Send it as a bearer token."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def schema_valid_data_is_accepted_or_refused_for_a_stated_reason(
    ctx: Any, response: Any, case: Any
) -> None:
    """A schema-valid request gets 2xx, or a 422 the schema cannot foresee; nothing else."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code in ACCEPTED:
        return
    problem = response.json() if response.status_code == 422 else {}
    # A model's own rule fails as a value_error (next to the other branches' errors in a union).
    # w and x have the lengths of the body's `graph` (the course's 9 and 5 when none is given).
    cross_field = problem.get("type") == "/problems/validation" and any(
        error["type"] == "value_error"
        or (error["type"] in ("too_short", "too_long") and error["loc"].endswith((".w", ".x")))
        for error in problem.get("errors", [])
    )
    if problem.get("type") in UNSTATABLE or cross_field:
        return
    raise RejectedPositiveData(
        operation=case.operation.label,
        message=f"Schema-valid request refused: {response.status_code} {problem or ''}",
        status_code=response.status_code,
        allowed_statuses=["2xx", "422 (overflow, limit or cross-field rule)"],
    )


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_survives_fuzzing_with_every_check(case: Any) -> None:
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
        additional_checks=[schema_valid_data_is_accepted_or_refused_for_a_stated_reason],
    )
