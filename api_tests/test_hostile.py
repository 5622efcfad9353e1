"""Hostile requests against every POST endpoint the OpenAPI lists: each one gets its documented
4xx as problem+json (never a 5xx, never a non-finite number), and the next request is served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from api_tests.support.course import COURSE_W
from api_tests.support.hostile import (
    JSON,
    NON_FINITE,
    assert_healthy,
    assert_problem,
    assert_refused,
    leaves,
    numbers,
    post_operations,
    replaced,
    with_literal,
)

MB = 1024 * 1024


MALFORMED = {
    "truncated": b'{"w": [0.1,',
    "open-brace": b"{",
    "trailing-data": b'{"a": 1} trailing',
    "single-quotes": b"{'single': 1}",
    "nul": b"\x00",
    "blank": b"   ",
    "invalid-utf8": b'{"w": "\xff\xfe"}',
    "truncated-utf8": b'{"optimizer": "\xc3"}',
    "utf-16": '{"w": 1}'.encode("utf-16"),
    "100k-arrays": b"[" * 100_000 + b"]" * 100_000,
    "100k-objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "5k-inside-a-field": b'{"w": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_body_that_is_not_json_text_is_a_400(client: Any, body: bytes) -> None:
    for op in post_operations(client):
        assert_problem(client.post(op.path, content=body, headers=JSON), 400, "malformed-json")
    assert_healthy(client)


def test_nesting_just_under_the_parser_limit_is_refused_cleanly(client: Any) -> None:
    body = b'{"w": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    for op in post_operations(client):
        response = client.post(op.path, content=body, headers=JSON)
        assert response.status_code in (400, 422)
        assert_problem(response, response.status_code)
    assert_healthy(client)


@pytest.mark.parametrize("top", [False, True], ids=["in-a-field", "the-whole-body"])
def test_nesting_gets_one_answer_per_route_at_every_depth_up_to_the_limit(
    client: Any, top: bool
) -> None:
    for op in post_operations(client):
        kinds = set()
        for levels in (5, 300, 990, 1023, 1024 - (not top)):
            inner = b"[" * levels + b"0.1" + b"]" * levels
            body = inner if top else b'{"w": ' + inner + b"}"
            kinds.add(assert_problem(client.post(op.path, content=body, headers=JSON), 422)["type"])
        assert kinds == {"/problems/validation"}, (op.path, kinds)
        for levels in (1025, 2000):
            body = b"[" * levels + b"NaN" + b"]" * levels
            problem = assert_problem(client.post(op.path, content=body, headers=JSON), 400)
            assert problem["type"] == "/problems/malformed-json", op.path
    assert_healthy(client)


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfff"', '"\\udc00\\ud800"'])
def test_a_lone_surrogate_is_malformed_json_on_every_route(client: Any, text: str) -> None:
    for op in post_operations(client):
        body = '{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "label": ' + text + "}"
        response = client.post(op.path, content=body.encode(), headers=JSON)
        assert_problem(response, 400, "malformed-json")
    assert_healthy(client)


def test_a_key_twice_in_one_object_is_a_400(client: Any) -> None:
    for op in post_operations(client):
        example = op.example if isinstance(op.example, dict) and op.example else {"w": COURSE_W}
        key, value = next(iter(example.items()))
        body = "{" + f"{json.dumps(key)}: {json.dumps(value)}, " + json.dumps(example)[1:]
        problem = assert_problem(
            client.post(op.path, content=body.encode(), headers=JSON), 400, "malformed-json"
        )
        assert "twice" in problem["detail"]
    assert_healthy(client)


def test_a_key_twice_spelled_with_an_escape_is_a_400(client: Any) -> None:
    body = b'{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "\\u0077": [1], "row": 0}'
    assert_problem(client.post("/forward", content=body, headers=JSON), 400, "malformed-json")


def test_the_same_key_in_different_objects_is_fine(client: Any) -> None:
    body = {"optimizer": "adam", "data": {"X": [[0.1] * 5, [0.2] * 5], "y": [1.0, 2.0]}}
    body_text = json.dumps(body).replace('"data": {', '"data": {"y": [1.0, 2.0], ', 0)
    assert client.post("/train", content=body_text.encode(), headers=JSON).status_code == 200


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_non_finite_numbers_are_a_422_naming_the_field(client: Any, literal: str) -> None:
    for op in post_operations(client):
        for at in numbers(op.example)[:3]:
            body = with_literal(op.example, at, literal)
            assert_refused(client.post(op.path, content=body, headers=JSON), at)
    assert_healthy(client)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "1e309", "0.1"])
def test_numbers_as_strings_are_a_422(client: Any, text: str) -> None:
    for op in post_operations(client):
        for at in numbers(op.example)[:3]:
            assert_refused(client.post(op.path, json=replaced(op.example, at, text)), at)
    assert_healthy(client)


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "not a list"
    return [value]


def test_wrong_types_are_a_422_naming_the_field(client: Any) -> None:
    for op in post_operations(client):
        for at, value in leaves(op.example):
            body = replaced(op.example, at, _wrong_type(value))
            assert_refused(client.post(op.path, json=body), at)
    assert_healthy(client)


def _number_lists(
    value: Any, at: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], list[Any]]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _number_lists(item, (*at, key))
    elif isinstance(value, list):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            yield at, value
        for index, item in enumerate(value):
            yield from _number_lists(item, (*at, index))


@pytest.mark.parametrize("change", [+1, -1])
def test_wrong_lengths_are_a_422(client: Any, change: int) -> None:
    checked = 0
    for op in post_operations(client):
        for at, values in _number_lists(op.example):
            longer_or_shorter = values + values[:1] if change > 0 else values[:-1]
            response = client.post(op.path, json=replaced(op.example, at, longer_or_shorter))
            if response.status_code == 200:
                continue  # a list whose length is free (e.g. a loss history)
            assert_problem(response, 422)
            checked += 1
    assert checked >= 3
    assert_healthy(client)


def test_unknown_fields_are_a_422_naming_them(client: Any) -> None:
    for op in post_operations(client):
        if not isinstance(op.example, dict):
            continue
        body = {**op.example, "surprise": 1}
        problem = assert_problem(client.post(op.path, json=body), 422, "validation")
        assert "surprise" in problem["detail"], (op.path, problem)
    assert_healthy(client)


@pytest.mark.parametrize("body", [b"null", b"[]", b"1", b'"w"', b"true", b"[{}]"])
def test_a_body_that_is_not_an_object_is_a_422(client: Any, body: bytes) -> None:
    for op in post_operations(client):
        assert_problem(client.post(op.path, content=body, headers=JSON), 422, "validation")
    assert_healthy(client)


def test_an_empty_body_is_a_422(client: Any) -> None:
    for op in post_operations(client):
        assert_problem(client.post(op.path, content=b"", headers=JSON), 422, "validation")
        assert_problem(client.post(op.path), 422, "validation")
    assert_healthy(client)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"],
)
def test_a_body_that_is_not_json_is_a_415(client: Any, content_type: str) -> None:
    for op in post_operations(client):
        body = json.dumps(op.example).encode()
        response = client.post(op.path, content=body, headers={"content-type": content_type})
        assert_problem(response, 415, "unsupported-media-type")
    assert_healthy(client)


def test_a_body_without_a_content_type_is_a_415(client: Any) -> None:
    for op in post_operations(client):
        response = client.post(op.path, content=json.dumps(op.example).encode())
        assert_problem(response, 415, "unsupported-media-type")
    assert_healthy(client)


def test_a_json_body_with_a_charset_or_a_json_suffix_is_accepted(client: Any) -> None:
    body = json.dumps({"w": COURSE_W, "row": 0}).encode()
    for content_type in ["application/json; charset=utf-8", "application/vnd.api+json"]:
        response = client.post("/forward", content=body, headers={"content-type": content_type})
        assert response.status_code == 200


def test_a_50_mb_body_is_a_413(client: Any) -> None:
    body = b"[" + b"0.1," * (50 * MB // 4) + b"0.1]"
    for op in post_operations(client)[:3]:
        problem = assert_problem(
            client.post(op.path, content=body, headers=JSON), 413, "body-too-large"
        )
        assert "8388608" in problem["detail"] or "8 MiB" in problem["detail"]
    assert_healthy(client)


def test_a_50_mb_streamed_body_is_refused_before_it_is_all_read() -> None:
    from service.api.middleware.body import BodyGuard
    from service.main import app

    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * MB, "more_body": received < 50}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def never_called(*_: Any) -> None:
        raise AssertionError("the app must not see the body")

    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    scope = {"type": "http", "method": "POST", "path": "/forward", "headers": headers, "app": app}
    asyncio.run(BodyGuard(never_called)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["type"] == "/problems/body-too-large"
    assert received == 9  # 8 MiB allowed: refused on the ninth megabyte, 41 never read


@pytest.mark.parametrize("number", [1e308, -1e308, 5e-324, -0.0, 10**30, -(10**30)])
def test_extreme_numbers_anywhere_never_break_the_server(client: Any, number: float) -> None:
    for op in post_operations(client):
        for at in numbers(op.example)[:12]:
            response = client.post(op.path, json=replaced(op.example, at, number))
            assert response.status_code < 500, (op.path, at, response.text[:300])
            if response.status_code >= 400:
                assert_problem(response, response.status_code)
            elif response.headers["content-type"].startswith("application/json"):
                assert not any(isinstance(v, float) and v != v for _, v in leaves(response.json()))
                assert not NON_FINITE.search(response.text)
    assert_healthy(client)


@pytest.mark.parametrize("path", ["/forward", "/backward", "/gradcheck"])
def test_weights_of_1e308_are_a_422_naming_the_node(client: Any, path: str) -> None:
    problem = assert_problem(
        client.post(path, json={"w": [1e308] * 9, "row": 0}), 422, "numerical-overflow"
    )
    assert "'a*a + w6'" in problem["detail"]
    assert_healthy(client)


def test_negative_zero_weights_compute_as_zero(client: Any) -> None:
    negative = client.post("/backward", json={"w": [-0.0] * 9, "row": 0})
    positive = client.post("/backward", json={"w": [0.0] * 9, "row": 0})
    assert negative.status_code == positive.status_code == 200
    assert negative.json() == positive.json()


def test_gradcheck_overflowing_only_at_a_perturbed_point_is_a_422(client: Any) -> None:
    # exp(709.7) is finite; exp(709.7 + eps) with eps = 0.1 is not.
    w = [0.0, 0.0, 0.1, 0.1, 0.1, 709.7, 0.1, 0.1, 0.1]
    assert client.post("/forward", json={"w": w, "row": 0}).status_code == 200
    problem = assert_problem(
        client.post("/gradcheck", json={"w": w, "row": 0, "eps": 0.1}), 422, "numerical-overflow"
    )
    assert "'exp'" in problem["detail"]
    assert_healthy(client)


def test_a_diverging_training_reports_diverged_with_finite_numbers(client: Any) -> None:
    response = client.post("/train", json={"learning_rate": 1e6, "epochs": 5})
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "diverged"
    assert result["diverged_at"] is not None
    assert not NON_FINITE.search(response.text)
    assert_healthy(client)


def test_an_integral_float_is_taken_for_an_integer(client: Any) -> None:
    as_float = client.post("/forward", json={"w": COURSE_W, "row": 0.0})
    assert as_float.status_code == 200
    assert as_float.json() == client.post("/forward", json={"w": COURSE_W, "row": 0}).json()
    problem = assert_problem(client.post("/forward", json={"w": COURSE_W, "row": 0.5}), 422)
    assert problem["errors"][0]["loc"] == "body.row"


@pytest.mark.parametrize("query", ["?x=1", "?=0", "?offset=0&surprise=", "?limit=5&limit=6&a%00=1"])
def test_unknown_query_parameters_are_a_422_naming_them(client: Any, query: str) -> None:
    problem = assert_problem(client.get("/dataset" + query), 422, "validation")
    assert all(error["loc"].startswith("query.") for error in problem["errors"])
    assert client.get("/dataset?offset=0&limit=5").status_code == 200


def test_a_wrong_method_is_a_405_listing_every_method_of_the_path(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        response = client.request("DELETE", path)
        problem = assert_problem(response, 405)
        assert problem["type"] == "/problems/http-405"
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed == {method.upper() for method in operations}
    assert_healthy(client)
