"""Routes of the graph itself: forward pass, backward pass, gradient check."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.points import resolve_point
from service.api.routing import JsonBodyRoute
from service.api.schemas import (
    BackwardResponse,
    ForwardResponse,
    GradCheckRequest,
    GradCheckResponse,
    Point,
)
from service.core import gradcheck as gc
from service.core import graph

router = APIRouter(tags=["graph"], route_class=JsonBodyRoute)  # raw JSON in, model out


@router.post("/forward", summary="Forward pass at one point")
async def forward(point: Point) -> ForwardResponse:
    """Compute exp, tanh, sigmoid, y_pred, loss and dy_pred (SPEC §1) at one point.

    With `{"w": [0.1]*9, "row": 0}` this gives the course's reference values exactly.
    """
    x, y = resolve_point(point)
    return ForwardResponse.model_validate(graph.forward(x, y, point.w).values())


@router.post("/backward", summary="Backward pass (analytic gradients) at one point")
async def backward(point: Point) -> BackwardResponse:
    """Run the forward pass, then the chain rule back to dw1..dw9."""
    x, y = resolve_point(point)
    cache = graph.forward(x, y, point.w)
    gradients = dict(zip(graph.GRADIENT_NAMES, graph.backward(cache), strict=True))
    return BackwardResponse.model_validate({"forward": cache.values(), "gradients": gradients})


@router.post("/gradcheck", summary="Check a gradient against central differences")
async def gradcheck(body: GradCheckRequest) -> GradCheckResponse:
    """Compare the analytic gradient (or a supplied one) with the numerical gradient (SPEC §4)."""
    x, y = resolve_point(body)
    supplied = None if body.gradients is None else list(body.gradients.model_dump().values())
    check = gc.check_gradient(x, y, body.w, body.eps, supplied)
    rows = [
        {"name": f"w{i + 1}", "analytic": g, "numerical": n, "relative_error": r}
        for i, (g, n, r) in enumerate(
            zip(check.analytic, check.numerical, check.relative_errors, strict=True)
        )
    ]
    return GradCheckResponse.model_validate(
        {
            "weights": rows,
            "difference": check.difference,
            "verdict": check.verdict,
            "eps": check.eps,
            "thresholds": {"pass_below": gc.PASS_BELOW, "fail_above": gc.FAIL_ABOVE},
        }
    )
