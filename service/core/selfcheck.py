"""Start-up self-check: the graph must reproduce the course's reference numbers (SPEC §3).

Tested by tests/core/test_graph.py.
"""

from __future__ import annotations

from service.core.dataset import load_dataset
from service.core.graph import backward, forward, sigmoid

REFERENCE_FORWARD = {
    "exp": 1.1272967040973583,
    "tanh": 0.8417934192562146,
    "sigmoid": 0.5279179387419721,
    "loss": 0.9298048963072919,
    "dy_pred": -1.9285278284819143,
    "y_pred": 0.8945852131304118,
}
REFERENCE_GRADIENTS = (
    -0.229733,
    -0.021408,
    -0.005625,
    -0.004658,
    -0.001008,
    -0.633475,
    -0.561942,
    -0.048063,
    -1.018104,
)


def self_check() -> list[str]:
    """The reference values that do not match; empty when all do."""
    data = load_dataset()
    cache = forward(data.X[0], float(data.y[0]), [0.1] * 9)
    failures = [k for k, v in REFERENCE_FORWARD.items() if cache.values()[k] != v]
    if sigmoid(2.0) != 0.8807970779778823:
        failures.append("sigmoid(2)")
    gradients = backward(cache)
    failures += [
        f"dw{i + 1}"
        for i, (g, r) in enumerate(zip(gradients, REFERENCE_GRADIENTS, strict=True))
        if round(g, 6) != r
    ]
    return failures
