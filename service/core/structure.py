"""The graph's structure (nodes, edges, formulas) and each node's value and gradient at a point.

A node's gradient is dL/d(node), the number the course's picture writes under it, read from the
backward pass's stages (graph.adjoints), not derived again here. Leaves are the
features f1..f5, the target y and the weights w1..w9; only the weights get a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.graph import Adjoints, Cache


@dataclass(frozen=True)
class Node:
    """One node: what it computes, from what, and how its gradient is found."""

    name: str
    kind: str  # feature | target | weight | operation
    part: str  # inputs | part 1 | part 2 | part 3 | output
    op: str
    formula: str
    gradient: str | None
    inputs: tuple[str, ...] = ()


FEATURES = tuple(
    Node(f"f{i}", "feature", "inputs", "input", f"f{i} = x[{i - 1}]", None) for i in range(1, 6)
)
WEIGHT_GRADIENTS = (
    "dw1 = dL/da * f1",
    "dw2 = dL/da * f2",
    "dw3 = dL/dsin * cos(w3*f3) * f3",
    "dw4 = dL/dq * f4",
    "dw5 = dL/dq * f5",
    "dw6 = dL/dexp * exp",
    "dw7 = dL/dtanh * (1 - tanh^2)",
    "dw8 = dL/dsigmoid * sigmoid * (1 - sigmoid)",
    "dw9 = dy_pred * sigmoid",
)
WEIGHTS = tuple(
    Node(f"w{i}", "weight", "inputs", "weight", f"w{i} = w[{i - 1}]", gradient)
    for i, gradient in enumerate(WEIGHT_GRADIENTS, start=1)
)
OPERATIONS = (
    Node("a", "operation", "part 1", "w1*f1 + w2*f2", "a = w1*f1 + w2*f2",
         "dL/da = dL/dexp * exp * 2a", ("w1", "f1", "w2", "f2")),
    Node("exp", "operation", "part 1", "exp", "exp = e^(a*a + w6)",
         "dL/dexp = dL/dtanh * (1 - tanh^2)", ("a", "w6")),
    Node("tanh", "operation", "part 2", "tanh", "tanh = tanh(exp + w7)",
         "dL/dtanh = dy_pred", ("exp", "w7")),
    Node("sin", "operation", "part 3", "sin", "sin = sin(w3*f3)",
         "dL/dsin = dL/dsigmoid * sigmoid * (1 - sigmoid) * q", ("w3", "f3")),
    Node("q", "operation", "part 3", "w4*f4 + w5*f5", "q = w4*f4 + w5*f5",
         "dL/dq = dL/dsigmoid * sigmoid * (1 - sigmoid) * sin", ("w4", "f4", "w5", "f5")),
    Node("sigmoid", "operation", "part 3", "sigmoid", "sigmoid = σ(sin*q + w8)",
         "dL/dsigmoid = dy_pred * w9", ("sin", "q", "w8")),
    Node("y_pred", "operation", "output", "+", "y_pred = tanh + w9*sigmoid",
         "dy_pred = dL/dy_pred = -2*(y - y_pred)", ("tanh", "sigmoid", "w9")),
    Node("loss", "operation", "output", "squared error", "loss = (y - y_pred)^2",
         "dL/dloss = 1", ("y_pred", "y")),
)  # fmt: skip
TARGET = Node("y", "target", "output", "target", "y = the row's target", None)
FEATURE_NAMES = tuple(node.name for node in FEATURES)
WEIGHT_NAMES = tuple(node.name for node in WEIGHTS)
NODES = (*FEATURES, *WEIGHTS, *OPERATIONS, TARGET)
EDGES = tuple((source, node.name) for node in OPERATIONS for source in node.inputs)


@dataclass(frozen=True)
class Reading:
    """A node's forward value and its gradient dL/d(node) (None for features and the target)."""

    value: float
    gradient: float | None


def read(cache: Cache, adjoint: Adjoints) -> dict[str, Reading]:
    """Every node's value and gradient at the point of a forward cache and its backward pass."""
    gradient = {
        "loss": 1.0,
        "y_pred": adjoint.y_pred,
        "tanh": adjoint.tanh,
        "sigmoid": adjoint.sigmoid,
        "exp": adjoint.exp,
        "a": adjoint.a,
        "sin": adjoint.sin,
        "q": adjoint.q,
    }
    gradient |= zip(WEIGHT_NAMES, adjoint.weights, strict=True)
    value = dict(zip(FEATURE_NAMES, cache.x, strict=True))
    value |= zip(WEIGHT_NAMES, cache.w, strict=True)
    value |= {op.name: getattr(cache, op.name) for op in OPERATIONS}
    value["y"] = cache.y
    return {
        name: Reading(float(v), float(gradient[name]) if name in gradient else None)
        for name, v in value.items()
    }
