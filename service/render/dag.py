"""Any graph drawn from its structure, each value with its forward value and gradient dL/d(value).

Boxes are placed by service.render.layout (layers by depth from the inputs, left to right;
crossings reduced by barycenter sweeps); internal `_` nodes are drawn too, in a paler box.
Each box shows what the value is (a leaf's name and kind, a node's formula wrapped at
WRAP characters, at most FORMULA_LINES lines), `value` and `grad` printed with
``format_number`` (6 significant digits); in SVG the box of value `name` has gid "node-<name>".
Each layer is as wide as its widest label (CHAR inches a character, plus GAP for the arrows);
the figure grows with the layout up to MAX_INCHES a side and MAX_AREA square inches (at DPI,
at most 10000 pixels a side and 16 megapixels); a larger layout is drawn smaller (fonts, boxes
and lines scaled together) so that it still fits.

Tested by tests/render/test_dag.py.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.text import Text

from service.core.graphs.structure import Node
from service.core.structure import Reading
from service.render.layout import Layout, layout
from service.render.spec import format_number

DPI = 100
CHAR, GAP, MIN_COLUMN = 0.064, 0.9, 1.6  # inches: a character at FONT, between boxes, a layer
ROW = 0.95  # inches per row of the layout
MARGIN, HEADER, FOOTER = 0.3, 0.7, 0.4  # inches around the grid, above it and below it
MIN_WIDTH, MIN_HEIGHT, MAX_INCHES, MAX_AREA = 8.0, 5.0, 100.0, 1600.0
WRAP, FORMULA_LINES = 44, 2
FONT = 8.0
LEAVES = ("input", "weight", "target")
COLOURS = {
    "input": "#dbe9f6",
    "target": "#dbe9f6",
    "weight": "#fde2c0",
    "node": "#d9f0d3",
    "internal": "#eef6ea",
    "loss": "#f6d5d5",
}
OUTPUT_COLOUR = "#f6d5d5"
KEY = (
    "value: forward pass;  grad: dL/d(value), backward pass;  arrows: data flow;  "
    "pale dashed boxes: internal nodes"
)


def label(node: Node, reading: Reading) -> str:
    """A box's text: what the value is, its forward value, and dL/d(value) when it has one."""
    if node.kind in LEAVES:
        lines = [f"{node.name} ({node.kind})"]
    else:
        lines = textwrap.wrap(node.formula, WRAP, max_lines=FORMULA_LINES, placeholder=" ...")
    lines.append(f"value {format_number(reading.value)}")
    if reading.gradient is not None:
        lines.append(f"grad {format_number(reading.gradient)}")
    return "\n".join(lines)


def _colour(node: Node) -> str:
    return OUTPUT_COLOUR if node.name == "y_pred" else COLOURS[node.kind]


def columns(grid: Layout, labels: Mapping[str, str]) -> list[float]:
    """Each layer's width in inches: its widest label's, at least MIN_COLUMN."""
    widest = [0] * grid.layers
    for name, text in labels.items():
        layer = int(grid.positions[name][0])
        widest[layer] = max(widest[layer], *(len(line) for line in text.splitlines()))
    return [max(MIN_COLUMN, n * CHAR + GAP) for n in widest]


def size(widths: Sequence[float], rows: int) -> tuple[float, float, float]:
    """(width, height) of the figure in inches, and the scale its contents are drawn at."""
    width = max(MIN_WIDTH, 2 * MARGIN + sum(widths))
    height = max(MIN_HEIGHT, HEADER + FOOTER + rows * ROW)
    scale = min(1.0, MAX_INCHES / width, MAX_INCHES / height, (MAX_AREA / (width * height)) ** 0.5)
    return width * scale, height * scale, scale


def dag_figure(
    nodes: Sequence[Node],
    edges: Sequence[tuple[str, str]],
    readings: Mapping[str, Reading],
    title: str,
) -> Figure:
    """Every node with its reading and an arrow along every edge, laid out in layers."""
    names = [node.name for node in nodes]
    grid = layout(names, edges, [node.name for node in nodes if node.kind in LEAVES])
    labels = {node.name: label(node, readings[node.name]) for node in nodes}
    widths = columns(grid, labels)
    width, height, scale = size(widths, grid.rows)
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width / scale)
    ax.set_ylim(0, height / scale)
    ax.set_axis_off()
    top = height / scale - HEADER
    starts = [(width / scale - sum(widths)) / 2]
    for w in widths:
        starts.append(starts[-1] + w)

    def at(point: tuple[float, float]) -> tuple[float, float]:
        layer, row = int(point[0]), point[1]
        return starts[layer] + widths[layer] / 2, top - (row + 0.5) * ROW

    ax.text(
        width / scale / 2, height / scale - HEADER / 2, title, ha="center", va="center",
        fontsize=13 * scale,
    )  # fmt: skip
    ax.text(width / scale - MARGIN, FOOTER / 2, KEY, fontsize=9 * scale, color="0.35", ha="right")
    texts: dict[str, Text] = {}
    for node in nodes:
        x, y = at(grid.positions[node.name])
        texts[node.name] = ax.text(
            x,
            y,
            labels[node.name],
            ha="center",
            va="center",
            fontsize=FONT * scale,
            family="DejaVu Sans",
            gid=f"node-{node.name}",
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.4",
                "facecolor": _colour(node),
                "edgecolor": "0.6" if node.kind == "internal" else "0.35",
                "linestyle": "--" if node.kind == "internal" else "-",
            },
        )
    for source, target in edges:
        via = [at(p) for p in grid.waypoints.get((source, target), ())]
        start = at(grid.positions[source])
        if via:  # a long edge: a line through its waypoints, the arrow on its last stretch
            xs, ys = zip(start, *via, strict=False)
            ax.plot(xs, ys, color="0.4", lw=0.9 * scale, zorder=1)
        ax.annotate(
            "",
            xy=at(grid.positions[target]),
            xytext=via[-1] if via else start,
            zorder=3,  # after the boxes (drawn in order): their patches are placed by then
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.4",
                "lw": 0.9 * scale,
                "shrinkA": 0 if via else 2,
                "shrinkB": 2,
                "patchA": None if via else texts[source].get_bbox_patch(),
                "patchB": texts[target].get_bbox_patch(),
            },
        )
    return fig
