"""The OpenAPI document as this app really answers, built once per app from its settings.

What the pydantic models cannot say is added here, to the document FastAPI generates:
- security (bearer) only when BACKPROP_API_KEYS is set, with its 401 (an open server declares none);
- every status a route can answer, each with the problem schema: 400/413/415/408 on a body, 422,
  401 when keyed, 503 `overloaded` on the routes that train (the offload routes, whose bodies can
  carry a dataset: training, plots, grading);
- the configured limits (`LIMITS`: maxItems, maximum), read from the app's settings;
- the cross-field rules JSON Schema can state (`RULES`): `row` versus `x` and `y`; `standardize`
  needs `data`; hyperparameters of another optimizer (a `oneOf` on `optimizer`, one branch per
  spec of core.training.registry); a gradcheck submission needs one of its fields; a policy's
  fields belong to its kind; `points` names the task's items (core.grading.tasks.ITEMS).
The models' validators stay the executable form of these rules; api_tests/test_fuzz.py checks
that the two agree (schemathesis: schema-valid requests accepted, others refused).

Over 250 lines: each stated rule sits beside its reason. Tested by api_tests/test_openapi.py and
api_tests/test_fuzz.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from service.api.middleware.auth import SCHEME, is_public
from service.api.route_classes.offload import OffloadRoute
from service.api.schemas.problem import PROBLEM, Problem
from service.core.grading.tasks import ITEMS
from service.core.graphs.presets import DEFAULT, builtin
from service.core.training import registry
from service.settings import Settings, settings_of

JsonObject = dict[str, Any]
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What the ASGI layers and the error handler add to every operation they apply to.
BODY_ERRORS = {
    "400": "Malformed JSON: bad syntax, invalid UTF-8 or a lone surrogate, NaN/Infinity, a number "
    "beyond float64, nesting deeper than the limit, or a key twice in one object.",
    "408": "The body did not arrive within BACKPROP_REQUEST_TIMEOUT_S.",
    "413": "The body is larger than BACKPROP_MAX_BODY_BYTES.",
    "415": "The body is not JSON (Content-Type must be application/json).",
}
INVALID = (
    "Invalid request: a field fails validation, the graph overflows float64 at a named node, "
    "or the work asked for exceeds a configured limit."
)
OVERLOADED = (
    "Every training slot is busy and the waiting line is full (BACKPROP_MAX_QUEUED_TRAININGS); "
    "retry after the Retry-After header's seconds."
)
UNAUTHORIZED = "Missing or unknown bearer key."
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "One of the keys in BACKPROP_API_KEYS; health, readiness, metrics and the "
    "docs need none.",
}
# (schema, field, JSON Schema keyword, the setting it comes from): the configured limits.
LIMITS = (
    ("CustomData", "X", "maxItems", "max_dataset_rows"),
    ("CustomData", "y", "maxItems", "max_dataset_rows"),
    ("TrainRequest", "epochs", "maximum", "max_epochs"),
    ("CompareRequest", "epochs", "maximum", "max_epochs"),
    ("GradeBatchRequest", "items", "maxItems", "max_grade_batch"),
)
NULL = {"type": "null"}
NOT_NULL = {"not": NULL}


def _problem(description: str) -> JsonObject:
    return {"description": description, "content": {PROBLEM: {"schema": PROBLEM_REF}}}


# ---- cross-field rules, each a function of one component schema returning subschemas to allOf


def one_source(schema: JsonObject) -> list[JsonObject]:
    """A point is `row`, or `x` and `y` (schemas.graph.Point._one_source)."""
    if not {"row", "x", "y"} <= schema.get("properties", {}).keys():
        return []
    row = {"required": ["row"], "properties": {"row": NOT_NULL, "x": NULL, "y": NULL}}
    xy = {"required": ["x", "y"], "properties": {"row": NULL, "x": NOT_NULL, "y": NOT_NULL}}
    return [{"oneOf": [row, xy]}]


def standardize_needs_data(schema: JsonObject) -> list[JsonObject]:
    """`standardize: true` only with custom `data` (schemas.training.RunSettings)."""
    if not {"standardize", "data"} <= schema.get("properties", {}).keys():
        return []
    off = {"properties": {"standardize": {"const": False}}}
    return [{"anyOf": [off, {"required": ["data"], "properties": {"data": NOT_NULL}}]}]


# The specs' `check` rules that JSON Schema can state, by optimizer (registry._nesterov_...).
SPEC_CHECKS: dict[str, JsonObject] = {
    "sgd": {
        "anyOf": [
            {"properties": {"nesterov": {"enum": [False, None]}}},
            {
                "required": ["momentum"],
                "properties": {
                    "momentum": {"type": "number", "exclusiveMinimum": 0},
                    "dampening": {"enum": [0, None]},
                },
            },
        ]
    }
}


def optimizer_branches(schema: JsonObject) -> list[JsonObject]:
    """One branch per optimizer spec: its name, and null for every other one's hyperparameter."""
    properties = schema.get("properties", {})
    if "optimizer" not in properties or not set(registry.HYPERPARAMETERS) <= properties.keys():
        return []
    default = properties["optimizer"].get("default")
    branches = []
    for name, spec in registry.SPECS.items():
        foreign = {h: NULL for h in registry.HYPERPARAMETERS if h not in spec.defaults}
        branch: JsonObject = {
            "title": name,
            "properties": {"optimizer": {"const": name}, **foreign},
        }
        if name != default:
            branch["required"] = ["optimizer"]
        if name in SPEC_CHECKS:
            branch["allOf"] = [SPEC_CHECKS[name]]
        branches.append(branch)
    return [{"oneOf": branches}]


def submits_something(schema: JsonObject) -> list[JsonObject]:
    """A gradcheck submission names at least one of its fields (GradcheckSubmission)."""
    if schema.get("title") != "GradcheckSubmission":
        return []
    fields = sorted(schema.get("properties", {}))
    return [{"anyOf": [{"required": [f], "properties": {f: NOT_NULL}} for f in fields]}]


# Which of a policy's fields each kind takes (schemas.grading.PolicySpec._fields_of_kind).
POLICY_FIELDS = {"exact": (), "decimals": ("decimals",), "relabs": ("rtol", "atol")}


def policy_fields(schema: JsonObject) -> list[JsonObject]:
    """A policy's optional fields belong to its kind."""
    if schema.get("title") != "PolicySpec":
        return []
    every = {f for fields in POLICY_FIELDS.values() for f in fields}
    branches = [
        {
            "properties": {
                "kind": {"const": kind},
                **dict.fromkeys(sorted(every - set(own)), NULL),
            }
        }
        for kind, own in POLICY_FIELDS.items()
    ]
    return [{"oneOf": branches}]


def task_items(schema: JsonObject) -> list[JsonObject]:
    """`points` of a grade request names items of its task (GradeOptions._known_items)."""
    properties = schema.get("properties", {})
    task = properties.get("task", {}).get("const")
    points = properties.get("points", {})
    if task not in ITEMS:
        return []
    for alternative in points.get("anyOf", []):
        if alternative.get("type") == "object":
            alternative["propertyNames"] = {"enum": list(ITEMS[task])}
    return []


RULES: tuple[Callable[[JsonObject], list[JsonObject]], ...] = (
    one_source,
    standardize_needs_data,
    optimizer_branches,
    submits_something,
    policy_fields,
    task_items,
)


def state_rules(schemas: JsonObject) -> None:
    """Add every cross-field rule to the component schemas it concerns."""
    for schema in schemas.values():
        extra = [sub for rule in RULES for sub in rule(schema)]
        if extra:
            schema.setdefault("allOf", []).extend(extra)


def state_limits(schemas: JsonObject, settings: Settings) -> None:
    """The configured limits, as the keywords of the fields they bound."""
    for name, field, keyword, setting in LIMITS:
        if name in schemas:
            schemas[name]["properties"][field][keyword] = getattr(settings, setting)


def _flat(routes: Iterable[Any]) -> Iterable[Any]:
    """Every route, those of included routers too (FastAPI keeps them in `original_router`)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _flat(inner.routes) if inner is not None else (route,)


def name_examples(body: JsonObject, schemas: JsonObject) -> None:
    """List a body schema's own examples by name in its media type, for Swagger UI's menu.

    Examples are written once, on the schemas (JSON Schema `examples`); this only names them.
    """
    for media in body.get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[1], {})
        examples = schema.get("examples") or []
        if len(examples) > 1:
            by_graph = any("graph" in value for value in examples)
            media["examples"] = {
                f"{i + 1}. {_example_name(value, by_graph)}": _example(value, by_graph)
                for i, value in enumerate(examples)
            }


def _example_name(value: JsonObject, by_graph: bool) -> str:
    """A grading example by its task; in a list that names graphs, by its graph (default course)."""
    if "task" in value or not by_graph:
        return str(value.get("task", "example"))
    graph = value.get("graph", DEFAULT)
    return graph if isinstance(graph, str) else "inline graph"


def _example(value: JsonObject, by_graph: bool) -> JsonObject:
    """An Example Object; a built-in preset's example says what the preset is (its summary)."""
    graph = value.get("graph", DEFAULT) if by_graph and "task" not in value else None
    preset = builtin().get(graph) if isinstance(graph, str) else None
    return {"summary": preset.summary, "value": value} if preset else {"value": value}


def annotate(spec: JsonObject, settings: Settings, routes: Iterable[BaseRoute] = ()) -> JsonObject:
    """The document with what the models cannot say (see the module docstring)."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    state_limits(schemas, settings)
    state_rules(schemas)
    keyed = bool(settings.api_keys)
    if keyed:
        components.setdefault("securitySchemes", {})[SCHEME] = BEARER
    training = {
        (route.path, method.lower())
        for route in _flat(routes)
        if isinstance(route, OffloadRoute)
        for method in route.methods or ()
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem(INVALID)
            if "requestBody" in operation:
                name_examples(operation["requestBody"], schemas)
                for status, description in BODY_ERRORS.items():
                    responses.setdefault(status, _problem(description))
            if (path, method) in training:
                responses.setdefault("503", _problem(OVERLOADED))
            if keyed and not is_public(path):
                operation["security"] = [{SCHEME: []}]
                responses.setdefault("401", _problem(UNAUTHORIZED))
    return spec


def allowed(app: FastAPI, path: str) -> str | None:
    """The methods the OpenAPI documents for a path, as an Allow header, if it lists the path."""
    operations = app.openapi()["paths"].get(path)
    return None if operations is None else ", ".join(sorted(m.upper() for m in operations))


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the annotated document, built once per settings object (the
    app's; a test that overrides the settings gets the document of its own)."""
    build = app.openapi
    built: list[tuple[Settings, JsonObject]] = []

    def openapi() -> JsonObject:
        settings = settings_of(app)
        if not built or built[0][0] is not settings:
            app.openapi_schema = None  # FastAPI's own cache, of the unannotated document
            built[:] = [(settings, annotate(build(), settings, app.routes))]
        app.openapi_schema = built[0][1]
        return built[0][1]

    app.openapi = openapi  # type: ignore[method-assign]
