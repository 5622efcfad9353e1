"""The JSON rules of request bodies: one parser, one answer per cause at every depth."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.api.route_classes.json_text import MAX_DEPTH, depth, loads
from service.core.errors import MalformedJson


def nested(levels: int, inner: bytes = b"1") -> bytes:
    return b"[" * levels + inner + b"]" * levels


@pytest.mark.parametrize("levels", [1, 300, 990, 1023, MAX_DEPTH])
@pytest.mark.parametrize("inner", [b"1", b"NaN"])
def test_nesting_up_to_the_limit_parses_by_either_parser(levels: int, inner: bytes) -> None:
    value = loads(nested(levels, inner))
    for _ in range(levels):
        (value,) = value
    assert value == 1 or math.isnan(value)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 2000, 100_000])
@pytest.mark.parametrize("inner", [b"1", b"NaN", b'"\\ud800"'])
def test_nesting_past_the_limit_is_malformed_whatever_else_is_inside(
    levels: int, inner: bytes
) -> None:
    with pytest.raises(MalformedJson, match=f"deeper than {MAX_DEPTH}"):
        loads(nested(levels, inner))


@pytest.mark.parametrize(
    "body",
    [b'"\\ud800"', b'["\\udfff"]', b'{"a": "\\ud800x"}', b'[NaN, "\\ud800"]', b'{"\\udc00": 1}'],
)
def test_a_lone_surrogate_is_malformed_json(body: bytes) -> None:
    with pytest.raises(MalformedJson, match="surrogate"):
        loads(body)


def test_a_surrogate_pair_is_one_character() -> None:
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"
    assert loads(b'[NaN, "\\ud83d\\ude00"]')[1] == "\U0001f600"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": 1, "\\u0061": 2}',
        b'{"x": {"a": NaN, "a": 1}}',
        b'{"a": {}, "a": 1}',
        b'{"a": 1, "a": 2, "b": "::"}',
        b'{"a": [{"b": 1, "b": 2}]}',
        b'[{"a": 1, "a": 2}]',
    ],
)
def test_a_key_twice_in_one_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedJson, match="twice"):
        loads(body)


@pytest.mark.parametrize(
    "body", [b'{"w": [0.1], "row": 0}', b'{"a": "x:y", "b": {"c": ":"}}', b'{"a": [{}], "b": 1}']
)
def test_keys_written_once_parse(body: bytes) -> None:
    assert loads(body) == json.loads(body)


def test_nan_infinity_and_1e309_parse_for_the_schema_to_name() -> None:
    value = loads(b'{"w": [NaN, Infinity, -Infinity, 1e309]}')["w"]
    assert math.isnan(value[0])
    assert value[1:] == [math.inf, -math.inf, math.inf]


@pytest.mark.parametrize("body", [b"", b"   ", b"{", b"\xff", b'{"a": 1} x', b"[1,]"])
def test_what_is_not_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedJson):
        loads(body)


def test_the_error_is_the_problem_of_its_family() -> None:
    error = MalformedJson("it is not valid UTF-8")
    assert (error.status, error.slug) == (400, "malformed-json")
    assert error.detail == "The body is not valid JSON: it is not valid UTF-8."


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


def _depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth_of, value.values()), default=0)
    return 0


@given(json_values)
def test_depth_counts_levels_of_the_text_as_json_reads_them(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False).encode()
    assert depth(text) == _depth_of(value)
    assert loads(text) == json.loads(text)


def test_keys_repeated_across_objects_parse_once_and_a_repeat_within_one_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.api.route_classes import json_text

    items = [{"task": "backward", "case": {"w": [0.1] * 9, "row": k}} for k in range(50)]
    body = json.dumps({"items": items}, separators=(", ", " : ")).encode()
    calls: list[bytes] = []
    exactly = json_text._loads_exactly

    def counted(raw: bytes) -> object:
        calls.append(raw)
        return exactly(raw)

    monkeypatch.setattr(json_text, "_loads_exactly", counted)
    assert loads(body) == {"items": items}
    assert calls == []  # a batch's repeated keys are no reason for the slow parser
    twice = body.replace(b'"row" : 7}', b'"row" : 7, "row" : 8}')
    with pytest.raises(MalformedJson, match="appears twice"):
        loads(twice)
    assert len(calls) == 1
