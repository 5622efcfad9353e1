"""What the hostile-request tests share: every POST operation of the live OpenAPI, its example,
and the checks that a request was refused cleanly and left the server healthy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api_tests.support.course import COURSE_W

JSON = {"content-type": "application/json"}
PLACEHOLDER = "__hostile__"
NON_FINITE = re.compile(r"(?<![A-Za-z])(NaN|nan|-?Infinity|-?inf)(?![A-Za-z])")


@dataclass(frozen=True)
class Operation:
    """A POST operation and the request body its schema documents."""

    path: str
    schema: dict[str, Any]
    example: Any


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example(spec: dict[str, Any], content: dict[str, Any]) -> Any:
    if "example" in content:
        return content["example"]
    if content.get("examples"):
        return next(iter(content["examples"].values()))["value"]
    schema = _resolve(spec, content["schema"])
    for variant in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        variant = _resolve(spec, variant)
        if variant.get("examples"):
            return variant["examples"][0]
    return {}


def post_operations(client: Any) -> list[Operation]:
    """Every POST operation with a JSON body, discovered from the app's own OpenAPI."""
    spec = client.get("/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body and "application/json" in body["content"]:
            content = body["content"]["application/json"]
            schema = _resolve(spec, content["schema"])
            found.append(Operation(path, schema, _example(spec, content)))
    assert found, "the OpenAPI lists no POST operation"
    return found


def leaves(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*at, index))
    else:
        yield at, value


def replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of value with the item at path `at` set to `new`."""
    copy = json.loads(json.dumps(value))
    if not at:
        return new
    target = copy
    for key in at[:-1]:
        target = target[key]
    target[at[-1]] = new
    return copy


def with_literal(example: Any, at: tuple[Any, ...], literal: str) -> bytes:
    """The example as JSON text with a raw literal (e.g. NaN, 1e309) at path `at`."""
    text = json.dumps(replaced(example, at, PLACEHOLDER))
    return text.replace(json.dumps(PLACEHOLDER), literal, 1).encode()


def numbers(example: Any) -> list[tuple[Any, ...]]:
    """Paths of the numeric (not boolean) leaves of an example."""
    return [
        at
        for at, value in leaves(example)
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def names(problem: dict[str, Any], at: tuple[Any, ...]) -> bool:
    """Whether a validation problem points at the body path `at` (a union may add its tag)."""
    wanted = ".".join(map(str, at))
    return any(
        f".{error['loc']}.".endswith(f".{wanted}.") or f".{wanted}." in f".{error['loc']}."
        for error in problem.get("errors") or []
    )


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The response is the given status as problem+json, with only finite numbers in it."""
    assert response.status_code == status, (status, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if slug is not None:
        assert problem["type"] == f"/problems/{slug}", problem
    assert not NON_FINITE.search(response.text), response.text[:500]
    return problem


def _error_lists(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("errors"), list):
            yield value["errors"]
        for item in value.values():
            yield from _error_lists(item)
    elif isinstance(value, list):
        for item in value:
            yield from _error_lists(item)


def assert_refused(response: Any, at: tuple[Any, ...]) -> None:
    """A 422 problem naming `at`, or (batch endpoints) a 200 whose item errors name it."""
    if response.status_code == 200:
        assert not NON_FINITE.search(response.text), response.text[:500]
        # A batch item's error is located within its item: the path after the first index.
        first = next((i for i, key in enumerate(at) if isinstance(key, int)), -1)
        tail = ".".join(map(str, at[first + 1 :]))
        errors = [error for found in _error_lists(response.json()) for error in found]
        assert any(
            f".{error['loc']}".endswith(f".{tail}") or f"'{at[-1]}'" in error["msg"]
            for error in errors
        ), (at, response.text[:500])
        return
    problem = assert_problem(response, 422)
    assert names(problem, at) or str(at[-1]) in problem["detail"], (at, problem)


def assert_healthy(client: Any) -> None:
    """The next ordinary request is answered normally."""
    response = client.post("/forward", json={"w": COURSE_W, "row": 0})
    assert response.status_code == 200
    assert response.json()["exp"] == 1.1272967040973583
