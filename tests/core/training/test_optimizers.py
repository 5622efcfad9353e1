"""The readable optimizers: pure updates on named states (torch: api_tests/test_train.py)."""

from __future__ import annotations

import numpy as np
import pytest

from service.core.training import optimizers
from service.core.training.registry import SPECS, resolve


@pytest.mark.parametrize("name", sorted(SPECS))
def test_an_update_never_mutates_its_inputs_and_returns_a_named_state(name: str) -> None:
    optimizer = resolve(name).build()
    w, g = np.linspace(-1.0, 1.0, 9), np.linspace(0.5, -0.5, 9)
    state = optimizer.init(w)
    w_before, g_before = w.copy(), g.copy()
    new_w, new_state = optimizer.update(g, state, w)
    assert (w == w_before).all()
    assert (g == g_before).all()
    assert type(new_state) is type(state)
    assert hasattr(new_state, "_fields")
    assert not np.array_equal(new_w, w)


def test_the_course_momentum_is_an_average_of_the_gradients() -> None:
    optimizer = optimizers.momentum(learning_rate=0.01, beta=0.9)
    w, g = np.zeros(9), np.ones(9)
    w1, state = optimizer.update(g, optimizer.init(w), w)
    assert (state.m == (1.0 - 0.9) * 1.0).all()
    assert (w1 == 0.0 - 0.01 * state.m).all()


def test_the_course_adam_has_no_bias_correction_and_torch_s_has() -> None:
    w, g = np.zeros(9), np.full(9, 2.0)
    course = optimizers.adam(learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8)
    torch_form = optimizers.adam(0.001, 0.9, 0.999, 1e-8, bias_correction=True)
    step_course, _ = course.update(g, course.init(w), w)
    step_torch, state = torch_form.update(g, torch_form.init(w), w)
    assert state.t == 1
    # course: m/(sqrt(v)+eps) = 0.2/(sqrt(0.004)+eps); torch's first step is lr * sign(g)
    assert step_course[0] == pytest.approx(-0.001 * 0.2 / (np.sqrt(0.004) + 1e-8), rel=1e-12)
    assert step_torch[0] == pytest.approx(-0.001, rel=1e-6)
