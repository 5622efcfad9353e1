"""The figures behind the images: lines, labels, scales, sizes; no warnings on extremes."""

from __future__ import annotations

import pytest

from service.core import graph, structure
from service.render.curves import CEILING, FLOOR, Curve, drawable, loss_figure
from service.render.diagram import POSITIONS, graph_figure, node_label
from service.render.figures import PNG, SVG, to_bytes


def test_loss_figure_has_one_labelled_line_per_curve_and_titled_axes() -> None:
    curves = [Curve("sgd", [0.5, 0.3, 0.2]), Curve("adam", [0.4, 0.1, 0.01])]
    (ax,) = loss_figure(curves, title="t").axes
    assert [line.get_label() for line in ax.get_lines()] == ["sgd", "adam"]
    assert list(ax.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert list(ax.get_lines()[1].get_ydata()) == [0.4, 0.1, 0.01]
    assert (ax.get_xlabel(), ax.get_title()) == ("epoch", "t")
    assert ax.get_ylabel() == "mean loss over the epoch"
    legend = ax.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == ["sgd", "adam"]
    assert ax.get_yscale() == "linear"


def test_log_figure_uses_a_log_axis_and_draws_zero_at_the_floor() -> None:
    (ax,) = loss_figure([Curve("a", [1.0, 0.0])], title="t", log=True).axes
    assert ax.get_yscale() == "log"
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, FLOOR]


@pytest.mark.parametrize(
    "losses", [[1e-300, 1e300], [1.0, 1.7e308], [0.0, 0.0], [], [5.0], [1e-10, 1e290]]
)
@pytest.mark.parametrize("log", [False, True])
def test_extreme_losses_render_without_warnings(losses: list[float], log: bool) -> None:
    figure = loss_figure([Curve("a", losses)], title="t", log=log)
    assert to_bytes(figure, PNG)[:8] == b"\x89PNG\r\n\x1a\n"
    assert max(figure.axes[0].get_lines()[0].get_ydata(), default=0.0) <= CEILING


def test_graph_figure_places_and_labels_every_node() -> None:
    cache = graph.forward([0.3, -0.2, 1.1, 0.4, -2.0], -0.75, [0.2] * 9)
    readings = structure.read(cache, graph.adjoints(cache))
    figure = graph_figure(readings, "t")
    drawn = {text.get_gid(): text.get_text() for text in figure.axes[0].texts if text.get_gid()}
    assert drawn == {
        f"node-{node.name}": node_label(node, readings[node.name]) for node in structure.NODES
    }
    assert set(POSITIONS) == {node.name for node in structure.NODES}
    assert b"<svg" in to_bytes(figure, SVG)[:400]


def test_leaves_sit_left_of_every_operation_and_part_1_above_part_3() -> None:
    leaves = [POSITIONS[f"f{i}"] for i in range(1, 6)] + [POSITIONS[f"w{i}"] for i in range(1, 10)]
    operations = [POSITIONS[n.name] for n in structure.OPERATIONS]
    assert max(x for x, _ in leaves) < min(x for x, _ in operations)
    top = min(POSITIONS[n][1] for n in ("a", "exp", "tanh"))
    assert top > max(POSITIONS[n][1] for n in ("sin", "q", "sigmoid"))
    assert POSITIONS["loss"][0] > POSITIONS["y_pred"][0] > POSITIONS["tanh"][0]


def test_a_label_the_font_cannot_draw_is_drawn_with_question_marks() -> None:
    assert drawable("sgd\u001f\u0007 é") == "sgd?? é"
    figure = loss_figure([Curve("a\u001fb", [1.0, 0.5])], title="t")
    assert b"a?b" in to_bytes(figure, SVG)
