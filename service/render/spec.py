"""What the pictures show, without importing matplotlib (kept off the start-up path).

Tested by tests/render/test_figures.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The most boxes one picture of a graph draws (the default graph limits allow 64 inputs, 64
# weights, 64 nodes, y and the loss: 194); the layout's and the drawing's work grow with it.
MAX_BOXES = 400
PNG = "image/png"
SVG = "image/svg+xml"


@dataclass(frozen=True)
class Curve:
    """One run's loss history and its legend label."""

    label: str
    losses: Sequence[float]


def format_number(value: float) -> str:
    """How the picture prints a number: 6 significant digits, as Python's format(v, ".6g")."""
    return format(value, ".6g")
