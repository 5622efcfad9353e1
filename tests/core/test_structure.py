"""The graph's structure, and each node's gradient against sympy on the SPEC's formulas."""

from __future__ import annotations

from typing import Any

import pytest
import sympy

from service.core import graph, structure

W = sympy.symbols("w1:10")
F = sympy.symbols("f1:6")
Y, N = sympy.symbols("y N")
POINTS = [
    ([0.1] * 9, [-1.2879, -0.12, -1.459, -0.6666, -0.1442], 1.8588),
    ([0.5, -1.2, 2.0, 0.3, -0.7, 0.05, -0.4, 1.5, -2.5], [0.3, -0.2, 1.1, 0.4, -2.0], -0.75),
]


def loss_with_free(node: str) -> Any:
    """SPEC §1's loss with one node replaced by the free symbol N (its own value)."""
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = W
    f1, f2, f3, f4, f5 = F

    def stage(name: str, expression: Any) -> Any:
        return N if name == node else expression

    a = stage("a", w1 * f1 + w2 * f2)
    exp = stage("exp", sympy.exp(a * a + w6))
    tanh = stage("tanh", sympy.tanh(exp + w7))
    sin = stage("sin", sympy.sin(w3 * f3))
    q = stage("q", w4 * f4 + w5 * f5)
    sigmoid = stage("sigmoid", 1 / (1 + sympy.exp(-(sin * q + w8))))
    y_pred = stage("y_pred", tanh + w9 * sigmoid)
    return stage("loss", (Y - y_pred) ** 2)


@pytest.mark.parametrize(("w", "x", "y"), POINTS)
@pytest.mark.parametrize("node", ["a", "exp", "tanh", "sin", "q", "sigmoid", "y_pred", "loss"])
def test_each_operation_gradient_matches_sympy(
    node: str, w: list[float], x: list[float], y: float
) -> None:
    cache = graph.forward(x, y, w)
    reading = structure.read(cache, graph.adjoints(cache))[node]
    values = dict(zip((*W, *F, Y), (*w, *x, y), strict=True)) | {N: reading.value}
    expected = float(sympy.diff(loss_with_free(node), N).evalf(30, subs=values))
    assert reading.gradient == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_leaves_read_their_inputs_and_weights_their_gradients() -> None:
    w, x, y = POINTS[1]
    cache = graph.forward(x, y, w)
    grads = graph.backward(cache)
    readings = structure.read(cache, graph.adjoints(cache))
    assert set(readings) == {node.name for node in structure.NODES}
    assert [readings[f"f{i}"] for i in range(1, 6)] == [structure.Reading(v, None) for v in x]
    assert [readings[f"w{i}"].gradient for i in range(1, 10)] == list(grads)
    assert readings["y"] == structure.Reading(y, None)
    assert readings["loss"].value == cache.loss


def test_every_edge_joins_known_nodes_and_every_operation_is_reached() -> None:
    names = {node.name for node in structure.NODES}
    assert all(s in names and t in names for s, t in structure.EDGES)
    targets = {t for _, t in structure.EDGES}
    assert targets == {n.name for n in structure.OPERATIONS}
    sources = {s for s, _ in structure.EDGES}
    assert sources == names - {"loss"}  # every node but the loss feeds something
