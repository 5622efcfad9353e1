"""Unit tests of service.core.graph: reference values, overflow reporting, no mutation."""

from __future__ import annotations

import numpy as np
import pytest

from service.core.dataset import load_dataset
from service.core.errors import NumericalOverflow
from service.core.graph import backward, forward, sigmoid
from service.core.selfcheck import self_check
from tests.support.oracles import symbolic_loss


def test_sigmoid_of_2_is_the_course_value() -> None:
    assert sigmoid(2.0) == 0.8807970779778823


def test_sigmoid_saturates_instead_of_overflowing() -> None:
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0


def test_self_check_passes_on_the_shipped_dataset() -> None:
    assert self_check() == []


def test_loss_agrees_with_a_50_digit_evaluation_at_every_dataset_row() -> None:
    data = load_dataset()
    w = [0.3, -0.2, 0.5, 0.7, -0.4, 0.1, 0.2, -0.3, 0.8]
    for i in range(0, data.n, 23):
        got = forward(data.X[i], float(data.y[i]), w).loss
        assert got == pytest.approx(
            symbolic_loss(data.X[i].tolist(), float(data.y[i]), w), rel=1e-13
        )


@pytest.mark.parametrize(
    ("x", "y", "w", "node"),
    [
        ([20, 1, 1, 1, 1], 1.0, [50] + [0.1] * 8, "exp"),
        ([1e200, 1e200, 1, 1, 1], 1.0, [1e200] + [0.1] * 8, "a"),
        ([1, 1, 10, 1, 1], 1.0, [0.1, 0.1, 1e308] + [0.1] * 6, "w3*f3"),
        ([1, 1, 1, 1e308, 1], 1.0, [0.1, 0.1, 0.1, 10] + [0.1] * 5, "q"),
        ([1, 1, 1, 1, 1], 1e200, [0.1] * 9, "loss"),
        ([1, 1, 1, 1, 1], -1e308, [0.1] * 8 + [1.7e308], "loss"),
        ([1, 1e308, 1, 1, 1], 100.0, [0.1, 1e-308] + [0.1] * 7, "dw2"),
    ],
)
def test_overflow_names_the_node(x: list[float], y: float, w: list[float], node: str) -> None:
    with pytest.raises(NumericalOverflow) as caught:
        backward(forward(x, y, w))
    assert caught.value.node == node
    assert f"'{node}'" in caught.value.detail


def test_forward_and_backward_never_mutate_their_inputs() -> None:
    x = np.array([0.5, -0.2, 0.1, 0.3, 0.9])
    w = np.full(9, 0.1)
    x_copy, w_copy = x.copy(), w.copy()
    backward(forward(x, 1.0, w))
    assert np.array_equal(x, x_copy)
    assert np.array_equal(w, w_copy)


def test_gradients_are_plain_floats() -> None:
    data = load_dataset()
    grads = backward(forward(data.X[3], float(data.y[3]), np.full(9, 0.1)))
    assert all(type(g) is float for g in grads)
