"""The OpenAPI document as the service really answers: problem+json errors and bearer security.

Tested by api_tests/test_openapi.py and api_tests/test_fuzz.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.api.middleware.auth import SCHEME, is_public
from service.api.schemas.problem import PROBLEM, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What the ASGI layers and the error handler add to every operation they apply to.
BODY_ERRORS = {
    "400": "Malformed JSON: bad syntax, invalid UTF-8, NaN/Infinity, a number beyond float64, "
    "nesting deeper than 1024, or a key twice in one object.",
    "413": "The body is larger than BACKPROP_MAX_BODY_BYTES.",
    "415": "The body is not JSON (Content-Type must be application/json).",
}
INVALID = (
    "Invalid request: a field fails validation, the graph overflows float64 at a named node, "
    "or the work asked for exceeds a configured limit."
)
UNAUTHORIZED = "Missing or unknown bearer key (only when BACKPROP_API_KEYS is set)."
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "One of the keys in BACKPROP_API_KEYS, when the deployment sets any; "
    "health, readiness, metrics and the docs need none.",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": PROBLEM_REF}}}


def annotate(spec: dict[str, Any]) -> dict[str, Any]:
    """Document the problem+json errors and the bearer scheme on every operation they concern."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components.setdefault("securitySchemes", {})[SCHEME] = BEARER
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem(INVALID)
            if "requestBody" in operation:
                for status, description in BODY_ERRORS.items():
                    responses.setdefault(status, _problem(description))
            if not is_public(path):
                operation["security"] = [{SCHEME: []}]
                responses.setdefault("401", _problem(UNAUTHORIZED))
    return spec


def allowed(app: FastAPI, path: str) -> str | None:
    """The methods the OpenAPI documents for a path, as an Allow header, if it lists the path."""
    operations = app.openapi()["paths"].get(path)
    return None if operations is None else ", ".join(sorted(m.upper() for m in operations))


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the annotated document (built once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = annotate(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
