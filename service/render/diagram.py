"""The computational graph drawn as the course draws it, each node with its value and gradient.

Inputs f1..f5 and weights w1..w9 in a column on the left, parts 1-2 (a, exp, tanh) on top,
part 3 (sin, q, sigmoid) below, y_pred and the loss on the right. Numbers are printed with
``format_number`` (6 significant digits); in SVG node i's group has gid "node-<name>".

Tested by tests/render/test_figures.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from service.core.structure import EDGES, NODES, Node, Reading
from service.render.spec import format_number

WIDTH, HEIGHT, DPI = 16.0, 10.0, 100  # 1600 x 1000 pixels
LEAF_ORDER = ("f1", "w1", "f2", "w2", "w6", "w7", "w9", "f3", "w3", "f4", "w4", "f5", "w5", "w8")
POSITIONS = {name: (0.8, 13.3 - 0.97 * k) for k, name in enumerate(LEAF_ORDER)} | {
    "a": (3.3, 11.85),
    "exp": (5.5, 11.2),
    "tanh": (7.7, 10.3),
    "sin": (3.3, 6.0),
    "q": (3.3, 3.1),
    "sigmoid": (7.7, 4.6),
    "y_pred": (9.9, 7.45),
    "loss": (12.0, 7.45),
    "y": (12.0, 4.9),
}
COLOURS = {"feature": "#dbe9f6", "target": "#dbe9f6", "weight": "#fde2c0", "operation": "#d9f0d3"}
OUTPUT_COLOUR = "#f6d5d5"
KEY = "value: forward pass    grad: dL/d(node), backward pass    arrows: data flow"
BANDS = (  # x, y, width, height, caption
    (2.2, 9.4, 6.6, 3.9, "part 1: a = w1*f1 + w2*f2, exp = e^(a*a + w6)   ->   part 2: tanh"),
    (2.2, 1.9, 6.6, 5.0, "part 3: sin(w3*f3), q = w4*f4 + w5*f5, sigmoid"),
    (9.0, 4.0, 3.9, 4.6, "output"),
)


def node_label(node: Node, reading: Reading) -> str:
    """A node's text: what it computes, its forward value, and dL/d(node) when it has one."""
    title = node.formula if node.kind == "operation" else f"{node.name} ({node.kind})"
    lines = [title, f"value {format_number(reading.value)}"]
    if reading.gradient is not None:
        lines.append(f"grad {format_number(reading.gradient)}")
    return "\n".join(lines)


def _colour(node: Node) -> str:
    if node.kind == "operation" and node.part == "output":
        return OUTPUT_COLOUR
    return COLOURS[node.kind]


def _draw_node(ax: Axes, node: Node, reading: Reading) -> Text:
    x, y = POSITIONS[node.name]
    return ax.text(
        x,
        y,
        node_label(node, reading),
        ha="center",
        va="center",
        fontsize=8.5 if node.kind == "operation" else 8,
        family="DejaVu Sans",
        gid=f"node-{node.name}",
        bbox={"boxstyle": "round,pad=0.4", "facecolor": _colour(node), "edgecolor": "0.35"},
    )


def graph_figure(readings: Mapping[str, Reading], title: str) -> Figure:
    """Every node with its reading, an arrow along every edge, the parts shaded."""
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.94))
    ax.set_xlim(0, 13.3)
    ax.set_ylim(0, 14)
    ax.set_axis_off()
    fig.suptitle(title, fontsize=13)
    for x, y, width, height, caption in BANDS:
        ax.add_patch(
            FancyBboxPatch(
                (x, y), width, height, boxstyle="round,pad=0.1", facecolor="0.96", edgecolor="0.8"
            )
        )
        ax.text(x + 0.1, y + height - 0.1, caption, fontsize=9, color="0.35", va="top")
    ax.text(13.2, 0.2, KEY, fontsize=9, color="0.35", ha="right")
    texts = {node.name: _draw_node(ax, node, readings[node.name]) for node in NODES}
    for source, target in EDGES:
        ax.annotate(
            "",
            xy=POSITIONS[target],
            xytext=POSITIONS[source],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.4",
                "lw": 0.9,
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": texts[source].get_bbox_patch(),
                "patchB": texts[target].get_bbox_patch(),
            },
        )
    return fig
