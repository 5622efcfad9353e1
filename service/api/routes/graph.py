"""Routes of the graph: forward pass, backward pass, gradient check, its structure and picture.

Tested by api_tests/test_forward.py, api_tests/test_backward.py, api_tests/test_gradcheck.py
and api_tests/test_graph_picture.py.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from fastapi import APIRouter
from fastapi.responses import Response

from service.api.deps import SvgUnlessPng
from service.api.media import image, image_responses
from service.api.route_classes.json_body import JsonBodyRoute
from service.api.schemas.graph import (
    BackwardResponse,
    ForwardResponse,
    GradCheckRequest,
    GradCheckResponse,
    GraphStructure,
    Point,
)
from service.core import gradcheck as gc
from service.core import graph, structure
from service.core.errors import LimitExceeded
from service.core.graphs import evaluate
from service.core.graphs import gradcheck as graph_check
from service.core.graphs.definition import LOSS, TARGET
from service.core.graphs.registry import is_course
from service.core.graphs.structure import structure as graph_structure
from service.core.structure import Reading
from service.render import dag_figure, graph_figure
from service.render.spec import MAX_BOXES, SVG, format_number

# Raw JSON in, model out, for the routes of that shape; the others take FastAPI's path.
router = APIRouter(tags=["graph"], route_class=JsonBodyRoute)

DRAWING = image_responses(
    "The graph (the course's 1600 x 1000, others sized to their layout): SVG by default (text "
    "kept as text), PNG when `Accept` prefers `image/png`.",
    SVG,
)


@router.post("/forward", summary="Forward pass at one point")
async def forward(point: Point) -> ForwardResponse:
    """Compute every reported node, y_pred, loss and dy_pred at one point of the graph (default
    `course`: exp, tanh, sigmoid, y_pred, loss and dy_pred, SPEC §1).

    With `{"w": [0.1]*9, "row": 0}` this gives the course's reference values exactly.
    """
    g = point.resolve_graph()
    x, y = point.at(g)
    if is_course(g):
        return ForwardResponse.model_validate(graph.forward(x, y, point.w).values())
    return ForwardResponse.model_validate(evaluate.forward(g, x, y, point.w).reported())


@router.post("/backward", summary="Backward pass (analytic gradients) at one point")
async def backward(point: Point) -> BackwardResponse:
    """Run the forward pass, then the chain rule back to every weight (`d<weight>`, course:
    dw1..dw9) and, for graphs other than `course`, every input (`input_gradients`)."""
    g = point.resolve_graph()
    x, y = point.at(g)
    if is_course(g):
        cache = graph.forward(x, y, point.w)
        gradients = dict(zip(graph.GRADIENT_NAMES, graph.backward(cache), strict=True))
        return BackwardResponse.model_validate({"forward": cache.values(), "gradients": gradients})
    result = evaluate.forward(g, x, y, point.w)
    grads = evaluate.backward(result)
    return BackwardResponse.model_validate(
        {
            "forward": result.reported(),
            "gradients": grads.gradients,
            "input_gradients": grads.input_gradients,
        }
    )


@router.post("/gradcheck", summary="Check a gradient against central differences")
async def gradcheck(body: GradCheckRequest) -> GradCheckResponse:
    """Compare the analytic gradient (or a supplied one) with the numerical gradient (SPEC §4).

    For graphs other than `course`, each weight also gets its one-sided differences and a
    `kink` flag: at a kink within eps (relu, abs at 0) the central difference checks nothing,
    so that weight is left out of `difference` and a check that passes otherwise says `kink`.
    """
    g = body.resolve_graph()
    x, y = body.at(g)
    thresholds = {"pass_below": gc.PASS_BELOW, "fail_above": gc.FAIL_ABOVE}
    if not is_course(g):
        result = graph_check.check(g, x, y, body.w, body.eps, body.supplied(g))
        return GradCheckResponse.model_validate(
            {
                "weights": [asdict(row) for row in result.weights],
                "difference": result.difference,
                "verdict": result.verdict,
                "eps": result.eps,
                "thresholds": thresholds,
            }
        )
    supplied = body.supplied(g)
    check = gc.check_gradient(x, y, body.w, body.eps, supplied)
    rows = [
        {"name": f"w{i + 1}", "analytic": a, "numerical": n, "relative_error": r}
        for i, (a, n, r) in enumerate(
            zip(check.analytic, check.numerical, check.relative_errors, strict=True)
        )
    ]
    return GradCheckResponse.model_validate(
        {
            "weights": rows,
            "difference": check.difference,
            "verdict": check.verdict,
            "eps": check.eps,
            "thresholds": thresholds,
        }
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
    """Draw the graph at a point (as /backward takes it). Each node shows its formula, `value`
    (forward pass) and `grad` = dL/d(node) (backward pass), printed with 6 significant digits
    (Python's `format(v, ".6g")`).

    The course's graph (the default) is drawn as the course draws it (1600 x 1000): inputs and
    weights on the left, parts 1-2 (a, exp, tanh) on top, part 3 (sin, q, sigmoid) below, y_pred
    and loss on the right. Any other graph is laid out from its structure (GET /graphs/{name}):
    layers by depth from the inputs, left to right, each leaf just before its first user,
    crossings reduced; internal `_` nodes are drawn in pale dashed boxes, and inputs get their
    gradient too (as /backward's `input_gradients`). Its size follows the layout (at most
    10000 pixels a side and 16 megapixels in PNG; a larger graph is drawn smaller).

    Answers `image/svg+xml` unless `Accept` ranks `image/png` higher.
    """
    g = point.resolve_graph()
    x, y = point.at(g)
    where = "the given x and y" if point.row is None else f"row {point.row}"
    if is_course(g):
        cache = graph.forward(x, y, point.w)
        graph.backward(cache)  # a gradient that overflows is a 422 naming it, as in /backward
        readings = structure.read(cache, graph.adjoints(cache))
        title = f"The course's graph at {where}: loss {format_number(cache.loss)}"
        return await image(media_type, partial(graph_figure, readings, title))
    result = evaluate.forward(g, x, y, point.w)
    evaluate.backward(result)  # a gradient that overflows is a 422 naming it, as in /backward
    gradients = evaluate.node_gradients(result)
    values = dict(zip((*g.inputs, *g.weights), (*x, *point.w), strict=True))
    values |= result.values | {TARGET: y, LOSS: result.loss}
    shape = graph_structure(g)
    used = {source for source, _ in shape.edges}
    nodes = [n for n in shape.nodes if n.kind != "target" or n.name in used]  # y if it is used
    if len(nodes) > MAX_BOXES:  # only when the BACKPROP_MAX_GRAPH_* limits are raised far
        raise LimitExceeded(
            f"the picture draws at most {MAX_BOXES} values (inputs, weights, nodes); "
            f"this graph has {len(nodes)}"
        )
    readings = {n.name: Reading(float(values[n.name]), gradients.get(n.name)) for n in nodes}
    named = f"'{point.graph}'" if isinstance(point.graph, str) else "The inline graph"
    title = f"{named} at {where}: loss {format_number(result.loss)}"
    return await image(media_type, partial(dag_figure, nodes, shape.edges, readings, title))
