"""Pictures of the service's results, drawn with matplotlib (no display, no pyplot).

matplotlib takes most of a second to import, so the entry points here load it on the first
picture instead of at start-up (the start-up budget to /ready is 2 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from service.core.graphs.structure import Node
    from service.core.structure import Reading
    from service.render.spec import Curve


def graph_figure(readings: Mapping[str, Reading], title: str) -> Figure:
    """The course's graph with every node's reading (service.render.diagram)."""
    from service.render.diagram import graph_figure as draw

    return draw(readings, title)


def dag_figure(
    nodes: Sequence[Node],
    edges: Sequence[tuple[str, str]],
    readings: Mapping[str, Reading],
    title: str,
) -> Figure:
    """Any graph laid out from its structure, every node's reading (service.render.dag)."""
    from service.render.dag import dag_figure as draw

    return draw(nodes, edges, readings, title)


def loss_figure(
    curves: Sequence[Curve], *, title: str, log: bool = False, graph: str | None = None
) -> Figure:
    """Loss against epoch, one line per run, naming a graph other than the course's
    (service.render.curves)."""
    from service.render.curves import loss_figure as draw

    return draw(curves, title=title, log=log, graph=graph)
