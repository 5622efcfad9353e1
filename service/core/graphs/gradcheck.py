"""Gradient checking for any graph (SPEC §4's formula), with a `kink` verdict per weight.

Central differences, one weight at a time, as service.core.gradcheck does for the course graph.
Where the loss has a kink within eps of the point (relu, abs at 0), the central difference
averages two different slopes and the check would say `fail` for a correct gradient. So each
weight's one-sided differences (L(w + eps e_i) - L(w)) / eps and (L(w) - L(w - eps e_i)) / eps
are compared too: they disagree by about |L''| * eps where the loss is smooth, by the jump in
slope at a kink. A weight is a kink when they differ by more than KINK_RELATIVE of their size
and by more than KINK_ABSOLUTE (so that curvature up to 1e3 * KINK_ABSOLUTE / eps is not one);
the overall difference is then taken over the other weights, and a check that would pass but
for the kinks says `kink`.

Tested by tests/core/graphs/test_gradcheck.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.core.errors import NumericalOverflow
from service.core.gradcheck import relative_difference, verdict
from service.core.graphs.definition import Graph
from service.core.graphs.evaluate import backward, forward, loss

KINK_RELATIVE = 1e-2
KINK_ABSOLUTE = 1e-4


@dataclass(frozen=True)
class WeightCheck:
    """One weight: analytic, central, both one-sided differences, and whether it is a kink."""

    name: str
    analytic: float
    numerical: float
    relative_error: float
    forward_difference: float
    backward_difference: float
    kink: bool


@dataclass(frozen=True)
class GraphCheck:
    """The per-weight rows, the norm difference (over the non-kink weights) and the verdict."""

    weights: tuple[WeightCheck, ...]
    difference: float
    verdict: str  # pass | warn | fail | kink
    eps: float


def is_kink(forward_difference: float, backward_difference: float) -> bool:
    """One-sided slopes that disagree beyond curvature and rounding: a kink within eps."""
    gap = abs(forward_difference - backward_difference)
    size = max(abs(forward_difference), abs(backward_difference))
    return gap > KINK_RELATIVE * size and gap > KINK_ABSOLUTE


def check(
    graph: Graph,
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float = 1e-7,
    analytic: Sequence[float] | None = None,
) -> GraphCheck:
    """Check the analytic gradient (the service's, or the one given) at one point."""
    centre = forward(graph, x, y, w)
    g = (
        list(analytic)
        if analytic is not None
        else list(backward(centre, check_inputs=False).gradients.values())
    )
    rows = []
    for i, name in enumerate(graph.weights):
        plus, minus = list(w), list(w)
        plus[i] += eps
        minus[i] -= eps
        up, down = loss(graph, x, y, plus), loss(graph, x, y, minus)
        numerical = (up - down) / (2.0 * eps)
        ahead, behind = (up - centre.loss) / eps, (centre.loss - down) / eps
        for value in (numerical, ahead, behind):
            if not math.isfinite(value):
                raise NumericalOverflow(f"numerical d{name}")
        rows.append(
            WeightCheck(
                name,
                g[i],
                numerical,
                relative_difference([g[i]], [numerical]),
                ahead,
                behind,
                is_kink(ahead, behind),
            )
        )
    smooth = [r for r in rows if not r.kink]
    difference = relative_difference([r.analytic for r in smooth], [r.numerical for r in smooth])
    result = verdict(difference)
    if result == "pass" and len(smooth) < len(rows):
        result = "kink"
    return GraphCheck(tuple(rows), difference, result, eps)
