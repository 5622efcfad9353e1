"""Parsing and validating definitions: errors say where and what, abuse is refused quickly."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from service.core.errors import GraphLimitExceeded, InvalidGraph, InvalidInput
from service.core.graphs.definition import Limits, define
from service.core.graphs.expression import parse, unparse
from service.core.graphs.presets import builtin, load_directory
from service.core.graphs.structure import structure
from tests.core.graphs.strategies import definitions

COURSE: dict[str, Any] = {
    "inputs": ["f1", "f2", "f3", "f4", "f5"],
    "weights": ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"],
    "nodes": {
        "_a": "w1*f1 + w2*f2",
        "exp": "exp(_a*_a + w6)",
        "tanh": "tanh(exp + w7)",
        "sigmoid": "sigmoid(sin(w3*f3)*(w4*f4 + w5*f5) + w8)",
        "y_pred": "tanh + w9*sigmoid",
    },
    "loss": "(y - y_pred)**2",
}


def graph(y_pred: str, **extra: Any) -> dict[str, Any]:
    return {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": y_pred, **extra}}


def test_the_issue_definition_is_the_course_preset() -> None:
    assert define(COURSE).id == builtin()["course"].id
    assert define(COURSE).canonical() == define(builtin()["course"].canonical()).canonical()


def test_id_ignores_spacing_parentheses_and_node_order() -> None:
    shuffled = {**COURSE, "nodes": dict(reversed(list(COURSE["nodes"].items())))}
    spaced = {**COURSE, "nodes": {**COURSE["nodes"], "y_pred": "((tanh)) +  w9 * sigmoid"}}
    assert define(shuffled).id == define(spaced).id == define(COURSE).id
    changed = {**COURSE, "nodes": {**COURSE["nodes"], "y_pred": "tanh + (w9*sigmoid + 0)"}}
    assert define(changed).id != define(COURSE).id


def test_default_loss_is_squared_error() -> None:
    assert unparse(define(graph("w*x")).loss) == "(y - y_pred)**2"


@settings(max_examples=100, deadline=None)
@given(definitions())
def test_canonical_text_parses_back_to_the_same_tree(definition: dict[str, Any]) -> None:
    g = define(definition)
    again = define(g.canonical())
    assert again.nodes == g.nodes
    assert again.loss == g.loss
    assert again.id == g.id


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("w*", 2, "a number, a name"),
        ("w*x)", 3, "an operator or the end"),
        ("(w*x", 4, "')'"),
        ("w ** x", 5, "a number after '**'"),
        ("foo(x)", 0, "one of exp"),
        ("w $ x", 2, "a number, a name"),
        ("w**2**2", 4, "one constant exponent"),
    ],
)
def test_parse_errors_name_node_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(InvalidGraph) as raised:
        define(graph(text))
    assert raised.value.status == 422
    assert (raised.value.node, raised.value.position) == ("y_pred", position)
    assert expected in (raised.value.expected or "")


@pytest.mark.parametrize(
    ("definition", "node"),
    [
        (graph("w*x + z"), "y_pred"),  # unknown name
        ({"inputs": ["x"], "weights": ["w"], "nodes": {"a": "w*x"}}, None),  # no y_pred
        (graph("_b", _b="_c", _c="_b + w"), "_b"),  # cycle
        (graph("x*w", x="w"), "x"),  # duplicate name
        ({"inputs": ["x", "x"], "weights": ["w"], "nodes": {"y_pred": "w*x"}}, "x"),
        (graph("w*x", y="w"), "y"),  # reserved
        (graph("w*x", loss="w"), "loss"),
        ({**graph("w*x"), "loss": "w*w"}, "loss"),  # the loss ignores y_pred
        ({**graph("w*x"), "extra": 1}, None),
        ({**graph("w*x"), "weights": "w"}, None),
        ({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": 3}}, "y_pred"),
        ({"inputs": ["x-1"], "weights": ["w"], "nodes": {"y_pred": "w"}}, None),
    ],
)
def test_invalid_definitions_are_refused(definition: dict[str, Any], node: str | None) -> None:
    with pytest.raises(InvalidGraph) as raised:
        define(definition)
    assert raised.value.node == node


@pytest.mark.parametrize(
    ("definition", "limit"),
    [
        (
            {"inputs": ["x"], "weights": ["w"], "nodes": {f"n{i}": "w" for i in range(10**6)}},
            "nodes",
        ),
        (graph("(" * 10**5 + "w" + ")" * 10**5), "expression_length"),
        (graph("w" + "+w" * 1000), "expression_length"),
        (graph("x**100000000000"), "exponent"),
        (graph("x**1e308"), "exponent"),
        (
            {"inputs": [f"x{i}" for i in range(100)], "weights": ["w"], "nodes": {"y_pred": "w"}},
            "inputs",
        ),
    ],
)
def test_limits_are_refused_quickly_naming_the_limit(
    definition: dict[str, Any], limit: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(GraphLimitExceeded) as raised:
        define(definition)
    assert time.perf_counter() - start < 2.0
    assert raised.value.limit == limit
    assert raised.value.status == 422


def test_nesting_deeper_than_the_limit_is_refused_within_the_length_limit() -> None:
    for text in ("(" * 40 + "w" + ")" * 40, "-" * 40 + "w", "exp(" * 40 + "w" + ")" * 40):
        with pytest.raises(GraphLimitExceeded) as raised:
            define(graph(text))
        assert raised.value.limit == "depth"
    with pytest.raises(GraphLimitExceeded):
        define(graph("w" + "+w" * 300), Limits(expression_length=10**4))  # tree depth 301
    long = "w" + "*x+w" * 100
    with pytest.raises(GraphLimitExceeded) as raised:
        define(graph(long), Limits(depth=200, operations=50))
    assert raised.value.limit == "operations"


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "__import__",
        "w.__class__",
        "x[0]",
        "lambda: 1",
        "[w for w in x]",
        "f'{w}'",
        "exec('1')",
        "eval('1')",
        "w if x else w",
        "w; x",
        "w\nx",
        "w == x",
        "1e999",
        "0x10",
        "w @ x",
        "w // x",
        "x ** ** 2",
        "x ** y",
        "𝑤 * x",
    ],
)
def test_code_in_expressions_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        define(graph(text))


def test_names_shadowing_builtins_and_numba_are_only_names() -> None:
    names = [
        "__import__",
        "np",
        "numba",
        "njit",
        "print",
        "nan",
        "g",
        "i",
        "X",
        "v0",
        "d0",
        "math",
        "exp",
    ]
    g = define(
        {
            "inputs": names[:6],
            "weights": names[6:],
            "nodes": {"sin": "exp*__import__ + X*v0", "y_pred": "sin(sin) + d0*math"},
        }
    )
    assert structure(g).nodes[-2].formula == "y_pred = sin(sin) + d0*math"


def test_parse_tree_round_trips_tricky_precedence() -> None:
    for text in [
        "-x**2",
        "(-x)**2",
        "a - (b - c)",
        "a + (b + c)",
        "a/(b*c)",
        "-(a + b)",
        "--a",
        "(-2)**2",
        "a*-2",
        "x**-1",
        "x**0.5",
    ]:
        tree = parse(text, "n")
        assert parse(unparse(tree), "n") == tree, text


def test_instructor_presets_load_with_per_file_errors(tmp_path: Path) -> None:
    (tmp_path / "neuron2.json").write_text(json.dumps(graph("sigmoid(w*x)")))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "cyclic.json").write_text(json.dumps(graph("_b", _b="y_pred")))
    (tmp_path / "course.json").write_text(json.dumps(COURSE))
    (tmp_path / "Bad Name.json").write_text(json.dumps(COURSE))
    graphs, errors = load_directory(tmp_path)
    assert list(graphs) == ["neuron2"]
    assert sorted(Path(p).name for p in errors) == [
        "Bad Name.json",
        "broken.json",
        "course.json",
        "cyclic.json",
    ]
    assert "cycle" in errors[str(tmp_path / "cyclic.json")]


def test_course_structure_and_chains_follow_the_spec() -> None:
    s = structure(builtin()["course"])
    assert s.chains["dw9"] == "dw9 = dy_pred * sigmoid"
    assert s.chains["dw6"] == "dw6 = dy_pred * (1 - tanh**2) * exp"
    assert s.chains["dw1"] == "dw1 = dy_pred * (1 - tanh**2) * exp * 2*_a * f1"
    by_name = {n.name: n for n in s.nodes}
    assert by_name["exp"].op == "exp"
    assert by_name["exp"].inputs == ("_a", "w6")
    assert by_name["_a"].kind == "internal"
    assert ("_a", "exp") in s.edges
    assert ("y_pred", "loss") in s.edges
