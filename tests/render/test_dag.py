"""Any graph's picture: every value drawn with its label, internal nodes dashed, size bounded."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

from service.core.graphs.definition import define
from service.core.graphs.evaluate import forward, node_gradients
from service.core.graphs.structure import Node, structure
from service.core.structure import Reading
from service.render.dag import (
    CHAR,
    FORMULA_LINES,
    GAP,
    MAX_AREA,
    MAX_INCHES,
    MIN_COLUMN,
    MIN_HEIGHT,
    MIN_WIDTH,
    WRAP,
    columns,
    dag_figure,
    label,
    size,
)
from service.render.figures import PNG, SVG, to_bytes
from service.render.layout import Layout

GRAPH = define(
    {
        "inputs": ["x1", "x2"],
        "weights": ["a", "b", "c"],
        "nodes": {
            "_h": "tanh(a*x1 + b*x2)",
            "g": "sigmoid(c*_h) + _h",
            "y_pred": "g*g + x1",
        },
        "loss": "(y - y_pred)**2",
    }
)


def _picture() -> tuple[list[Node], dict[str, Reading], Figure]:
    shape = structure(GRAPH)
    result = forward(GRAPH, [0.4, -1.2], 0.3, [0.5, -0.25, 2.0])
    grads = node_gradients(result)
    values = {"x1": 0.4, "x2": -1.2, "a": 0.5, "b": -0.25, "c": 2.0, "y": 0.3}
    values |= result.values | {"loss": result.loss}
    nodes = list(shape.nodes)
    readings = {
        n.name: Reading(values[n.name], None if n.kind == "target" else grads[n.name])
        for n in nodes
    }
    return nodes, readings, dag_figure(nodes, shape.edges, readings, "the title")


def test_every_value_is_drawn_once_with_its_label() -> None:
    nodes, readings, figure = _picture()
    drawn = {t.get_gid(): t.get_text() for t in figure.axes[0].texts if t.get_gid()}
    assert drawn == {f"node-{n.name}": label(n, readings[n.name]) for n in nodes}
    assert drawn["node-_h"].splitlines() == [
        "_h = tanh(a*x1 + b*x2)",
        f"value {format(math.tanh(0.5 * 0.4 - 0.25 * -1.2), '.6g')}",
        f"grad {format(readings['_h'].gradient, '.6g')}",
    ]
    assert drawn["node-y"].splitlines() == ["y (target)", "value 0.3"]  # y has no gradient
    assert drawn["node-x2"].splitlines()[0] == "x2 (input)"
    texts = {t.get_text() for t in figure.axes[0].texts}
    assert "the title" in texts


def test_internal_nodes_are_dashed_and_the_others_solid() -> None:
    _, _, figure = _picture()
    styles = {
        t.get_gid(): t.get_bbox_patch().get_linestyle() for t in figure.axes[0].texts if t.get_gid()
    }
    assert styles.pop("node-_h") == "--"
    assert set(styles.values()) == {"-"}


def test_the_picture_encodes_to_svg_and_png() -> None:
    _, _, figure = _picture()
    svg = to_bytes(figure, SVG)
    assert b'id="node-_h"' in svg
    assert to_bytes(figure, PNG)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_long_formula_is_wrapped_and_cut() -> None:
    long = "n = " + " + ".join(f"w{i}*x{i}" for i in range(40))
    node = Node("n", "node", "+", long, (), None)
    lines = label(node, Reading(1.0, 2.0)).splitlines()
    assert len(lines) == FORMULA_LINES + 2
    assert all(len(line) <= WRAP for line in lines[:FORMULA_LINES])
    assert lines[FORMULA_LINES - 1].endswith(" ...")
    assert lines[-2:] == ["value 1", "grad 2"]


def test_the_figure_grows_with_the_layout_up_to_the_caps_then_shrinks_its_contents() -> None:
    assert size([2.0, 2.0], 2) == (MIN_WIDTH, MIN_HEIGHT, 1.0)
    wide = size([3.0] * 6, 12)
    assert wide[0] > MIN_WIDTH
    assert wide[2] == 1.0
    deep = size([2.0] * 300, 2)  # a long chain: the width cap
    assert deep[0] == pytest.approx(MAX_INCHES)
    assert deep[2] < 1.0
    big = size([3.0] * 40, 200)  # wide and tall: the area cap
    assert big[0] * big[1] == pytest.approx(MAX_AREA)
    assert max(big[:2]) <= MAX_INCHES


def test_each_layer_is_as_wide_as_its_widest_label() -> None:
    grid = Layout({"a": (0.0, 0.0), "b": (0.0, 1.0), "c": (1.0, 0.0)}, {}, 2, 2, 0)
    widths = columns(grid, {"a": "x" * 10, "b": "y" * 40 + "\nz", "c": "w"})
    assert widths == [40 * CHAR + GAP, MIN_COLUMN]
