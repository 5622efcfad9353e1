"""The readable evaluator: course preset == graph.py, any graph's gradients equal sympy's."""

from __future__ import annotations

import math
import random
from importlib import resources

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.core import graph as course_graph
from service.core.errors import NumericalOverflow
from service.core.graphs.definition import define
from service.core.graphs.evaluate import backward, forward, node_gradients
from service.core.graphs.presets import builtin
from tests.core.graphs import oracle
from tests.core.graphs.strategies import definitions, points


def rows() -> list[tuple[list[float], float]]:
    text = resources.files("service.data").joinpath("backprop_data.csv").read_text()
    table = [[float(v) for v in line.split(",")] for line in text.split()[1:]]
    return [(r[:5], r[5]) for r in table]


ROWS = rows()
SPEC_FORWARD = {
    "exp": 1.1272967040973583,
    "tanh": 0.8417934192562146,
    "sigmoid": 0.5279179387419721,
    "y_pred": 0.8945852131304118,
    "loss": 0.9298048963072919,
    "dy_pred": -1.9285278284819143,
}
SPEC_GRADIENTS = [
    -0.229733,
    -0.021408,
    -0.005625,
    -0.004658,
    -0.001008,
    -0.633475,
    -0.561942,
    -0.048063,
    -1.018104,
]


def test_course_preset_forward_equals_the_spec_exactly() -> None:
    x, y = ROWS[0]
    result = forward(builtin()["course"], x, y, [0.1] * 9)
    assert result.reported() == SPEC_FORWARD
    assert list(result.reported()) == list(SPEC_FORWARD)  # today's keys, in today's order


def test_course_preset_gradients_round_to_the_spec() -> None:
    x, y = ROWS[0]
    grads = backward(forward(builtin()["course"], x, y, [0.1] * 9)).gradients
    assert [round(g, 6) for g in grads.values()] == SPEC_GRADIENTS
    assert list(grads) == [f"dw{i}" for i in range(1, 10)]


def test_course_preset_equals_graph_py_bit_for_bit_on_many_rows_and_weights() -> None:
    course, rng = builtin()["course"], random.Random(10)
    compared = 0
    for _ in range(3000):
        x, y = ROWS[rng.randrange(len(ROWS))]
        w = [rng.gauss(0.0, rng.choice([0.01, 0.5, 2.0])) for _ in range(9)]
        try:
            cache = course_graph.forward(x, y, w)
            expected = course_graph.backward(cache)
        except NumericalOverflow:
            with pytest.raises(NumericalOverflow):
                backward(forward(course, x, y, w))
            continue
        result = forward(course, x, y, w)
        assert {k: v.hex() for k, v in result.reported().items()} == {
            k: v.hex() for k, v in cache.values().items()
        }
        assert [g.hex() for g in backward(result).gradients.values()] == [g.hex() for g in expected]
        compared += 1
    assert compared > 2500


def test_course_preset_overflow_names_a_node() -> None:
    x, y = ROWS[0]
    with pytest.raises(NumericalOverflow) as raised:
        forward(builtin()["course"], x, y, [0.1] * 5 + [800.0] + [0.1] * 3)
    assert raised.value.node == "exp"


def test_cs231n_neuron_reproduces_the_lecture_numbers() -> None:
    neuron = builtin()["cs231n_neuron"]
    result = forward(neuron, [-1.0, -2.0], 0.0, [2.0, -3.0, -3.0])
    grads = backward(result)
    assert round(result.y_pred, 2) == 0.73
    assert result.loss == result.y_pred
    assert result.dy_pred == 1.0
    assert [round(g, 2) for g in grads.gradients.values()] == [-0.20, -0.39, 0.20]
    assert [round(g, 2) for g in grads.input_gradients.values()] == [0.39, -0.59]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_graphs_gradients_agree_with_sympy(data: st.DataObject) -> None:
    definition = data.draw(definitions())
    graph = define(definition)
    x, y, w = data.draw(points(definition))
    try:
        result = backward(forward(graph, x, y, w))
    except NumericalOverflow:
        assume(False)
        return
    exact_w, exact_x = oracle.gradients(graph, x, y, w)
    for got, want in zip(
        [*result.gradients.values(), *result.input_gradients.values()],
        [*exact_w, *exact_x],
        strict=True,
    ):
        assert math.isclose(got, float(want), rel_tol=1e-9, abs_tol=1e-12), (got, want)


def test_fan_out_adds_the_contributions() -> None:
    graph = define(
        {
            "inputs": ["x"],
            "weights": ["w"],
            "nodes": {"_u": "w*x", "y_pred": "_u*_u*_u + sin(_u)"},
            "loss": "y_pred",
        }
    )
    grads = backward(forward(graph, [0.7], 0.0, [1.3])).gradients
    u = 1.3 * 0.7
    assert math.isclose(grads["dw"], (3 * u * u + math.cos(u)) * 0.7, rel_tol=1e-14)


@pytest.mark.parametrize(("expression", "at_zero"), [("relu(w*x)", 0.0), ("abs(w*x)", 0.0)])
def test_kinks_take_torch_subgradient_zero(expression: str, at_zero: float) -> None:
    graph = define(
        {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": expression}, "loss": "y_pred"}
    )
    assert backward(forward(graph, [1.0], 0.0, [0.0])).gradients["dw"] == at_zero
    assert backward(forward(graph, [1.0], 0.0, [0.5])).gradients["dw"] == 1.0
    negative = backward(forward(graph, [1.0], 0.0, [-0.5])).gradients["dw"]
    assert negative == (0.0 if expression.startswith("relu") else -1.0)


@pytest.mark.parametrize(
    ("expression", "node"),
    [("log(w - w)", "y_pred"), ("1/(w - w) + 1", "1/(w - w)"), ("sqrt(-1 - w*w)", "y_pred")],
)
def test_non_finite_values_are_named(expression: str, node: str) -> None:
    graph = define({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": expression}})
    with pytest.raises(NumericalOverflow) as raised:
        forward(graph, [1.0], 0.0, [0.5])
    assert raised.value.node == node


def test_infinite_gradient_is_named() -> None:
    graph = define(
        {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "sqrt(w*w)"}, "loss": "y_pred"}
    )
    with pytest.raises(NumericalOverflow) as raised:
        backward(forward(graph, [1.0], 0.0, [0.0]))
    assert raised.value.node == "dw"


def test_node_gradients_of_the_course_preset_equal_graph_py_s_stages() -> None:
    x, y = ROWS[0]
    result = forward(builtin()["course"], x, y, [0.1] * 9)
    got = node_gradients(result)
    cache = course_graph.forward(x, y, [0.1] * 9)
    stages = course_graph.adjoints(cache)
    want = {"_a": stages.a, "exp": stages.exp, "tanh": stages.tanh, "sigmoid": stages.sigmoid}
    for name, value in want.items():
        assert math.isclose(got[name], value, rel_tol=1e-15), name
    assert got["y_pred"] == cache.dy_pred
    assert got["loss"] == 1.0
    assert [got[f"w{i}"] for i in range(1, 10)] == list(backward(result).gradients.values())
    assert set(got) == {*(f"f{i}" for i in range(1, 6)), *(f"w{i}" for i in range(1, 10))} | {
        "_a", "exp", "tanh", "sigmoid", "y_pred", "loss"
    }  # fmt: skip


def test_node_gradients_sum_a_fan_out_and_give_unused_values_zero() -> None:
    graph = define(
        {
            "inputs": ["x", "unused"],
            "weights": ["w"],
            "nodes": {"_u": "w*x", "y_pred": "_u*_u*_u + sin(_u)"},
            "loss": "y_pred",
        }
    )
    got = node_gradients(forward(graph, [0.7, 5.0], 0.0, [1.3]))
    u = 1.3 * 0.7
    assert math.isclose(got["_u"], 3 * u * u + math.cos(u), rel_tol=1e-14)
    assert got["unused"] == 0.0
    assert got["y_pred"] == got["loss"] == 1.0
