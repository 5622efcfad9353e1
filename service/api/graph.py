"""Routes of the graph's structure and its picture."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from fastapi import APIRouter
from fastapi.responses import Response

from service.api.graph_schemas import GraphStructure
from service.api.media import SvgUnlessPng, image, image_responses
from service.api.points import resolve_point
from service.api.schemas import Point
from service.core import graph, structure
from service.render import graph_figure
from service.render.spec import SVG, format_number

router = APIRouter(tags=["graph"])

DRAWING = image_responses(
    "The graph (1600 x 1000): SVG by default (text kept as text), PNG when `Accept` prefers "
    "`image/png`.",
    SVG,
)


@router.get("/graph", summary="The graph's structure: nodes, edges and formulas")
async def describe_graph() -> GraphStructure:
    """Every node (leaves f1..f5, w1..w9, y and the operations) with its forward formula and
    how its gradient dL/d(node) is computed, and every edge."""
    return GraphStructure.model_validate(
        {
            "nodes": [asdict(node) for node in structure.NODES],
            "edges": [{"source": s, "target": t} for s, t in structure.EDGES],
        }
    )


@router.post(
    "/graph",
    summary="The graph drawn at one point: each node's value and gradient",
    response_class=Response,
    responses=DRAWING,
)
async def draw_graph(point: Point, media_type: SvgUnlessPng) -> Response:
    """Draw the course's picture at a point (as /backward takes): inputs and weights on the
    left, parts 1-2 (a, exp, tanh) on top, part 3 (sin, q, sigmoid) below, y_pred and loss on
    the right. Each node shows its formula, `value` (forward pass) and `grad` = dL/d(node)
    (backward pass), printed with 6 significant digits (Python's `format(v, ".6g")`).

    Answers `image/svg+xml` unless `Accept` ranks `image/png` higher.
    """
    x, y = resolve_point(point)
    cache = graph.forward(x, y, point.w)
    readings = structure.read(cache, graph.backward(cache))
    where = "the given x and y" if point.row is None else f"row {point.row}"
    title = f"The course's graph at {where}: loss {format_number(cache.loss)}"
    return await image(media_type, partial(graph_figure, readings, title))
