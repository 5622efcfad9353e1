"""Turn a request's point into the numbers the core takes."""

from __future__ import annotations

from service.api.schemas import Point
from service.core.dataset import load_dataset


def resolve_point(point: Point) -> tuple[list[float], float]:
    """(x, y): the given features and target, or those of a built-in dataset row."""
    if point.row is not None:
        data = load_dataset()
        return data.X[point.row].tolist(), float(data.y[point.row])
    assert point.x is not None  # Point's validator guarantees x and y here
    assert point.y is not None
    return point.x, point.y
