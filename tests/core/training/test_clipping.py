"""Gradient clipping: torch's clip_grad_value_ / clip_grad_norm_, checked against torch goldens."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.errors import InvalidInput
from service.core.training.clipping import Clipping, clipped, total_norm
from service.core.training.loop import TrainConfig, run
from service.core.training.optimizers import sgd

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "torch_clipping.json"
GRADIENTS = st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=12).map(
    np.array
)
NORM_TYPES = st.sampled_from([1.0, 1.5, 2.0, 3.0, math.inf])


@settings(max_examples=200, deadline=None)
@given(GRADIENTS, NORM_TYPES)
def test_total_norm_is_numpy_s_vector_norm(g: np.ndarray, p: float) -> None:
    assert total_norm(g, p) == pytest.approx(np.linalg.norm(g, ord=p), rel=1e-12, abs=0)


@settings(max_examples=200, deadline=None)
@given(GRADIENTS, st.floats(1e-3, 1e3))
def test_clipping_by_value_clamps_each_component_and_keeps_the_rest(
    g: np.ndarray, v: float
) -> None:
    out = Clipping(value=v).clip(g)
    assert list(out) == [min(max(gj, -v), v) for gj in g.tolist()]


@settings(max_examples=200, deadline=None)
@given(GRADIENTS, st.floats(1e-3, 1e3), NORM_TYPES)
def test_clipping_by_norm_scales_by_the_clamped_coefficient(
    g: np.ndarray, max_norm: float, p: float
) -> None:
    out = Clipping(max_norm=max_norm, norm_type=p).clip(g)
    norm = float(np.linalg.norm(g, ord=p))
    coef = min(1.0, max_norm / (norm + 1e-6))
    assert out == pytest.approx(g * coef, rel=1e-12, abs=0)
    assert np.linalg.norm(out, ord=p) <= max_norm * (1 + 1e-12) or coef == 1.0
    if max_norm / (total_norm(g, p) + 1e-6) >= 1.0:  # clamped at 1: g * 1.0, unchanged
        assert list(out) == list(g)


def test_value_comes_first_then_norm() -> None:
    g = np.array([3.0, -4.0, 0.5])
    both = Clipping(value=1.0, max_norm=1.0).clip(g)
    expected = np.array([1.0, -1.0, 0.5]) * (1.0 / (math.sqrt(2.25) + 1e-6))
    assert list(both) == list(expected)
    assert list(both) != list(Clipping(value=1.0).clip(Clipping(max_norm=1.0).clip(g)))


def test_the_torch_constants_1e_6_and_the_clamp_are_kept() -> None:
    g = np.array([3.0, 4.0])  # norm 5
    assert list(Clipping(max_norm=1.0).clip(g)) == [3.0 / 5.000001, 4.0 / 5.000001]
    assert list(Clipping(max_norm=5.0).clip(g)) == [3.0 * (5.0 / 5.000001), 4.0 * (5 / 5.000001)]
    assert list(Clipping(max_norm=6.0).clip(g)) == [3.0, 4.0]


def test_a_norm_that_overflows_zeroes_the_gradient_as_torch_does() -> None:
    g = np.array([1e250, -1e250])  # torch 2.13: total_norm inf, the gradient [0.0, -0.0]
    assert list(Clipping(max_norm=1.0).clip(g)) == [0.0, -0.0]
    assert list(Clipping(max_norm=1.0, norm_type=1.5).clip(g)) == [0.0, -0.0]
    assert list(Clipping(max_norm=1.0, norm_type=math.inf).clip(g)) == list(
        g * (1.0 / (1e250 + 1e-6))
    )


def test_clipping_does_not_change_the_gradient_it_is_given() -> None:
    g = np.array([3.0, -4.0])
    Clipping(value=1.0, max_norm=1.0).clip(g)
    assert list(g) == [3.0, -4.0]


def test_a_clipped_optimizer_updates_with_the_clipped_gradient() -> None:
    optimizer = clipped(Clipping(value=0.5), sgd(0.1))
    w, _ = optimizer.update(np.array([2.0, -0.25]), optimizer.init(np.zeros(2)), np.zeros(2))
    assert list(w) == [-0.05, 0.025]
    plain = sgd(0.1)
    assert clipped(None, plain) is plain


@pytest.mark.parametrize(
    "fields",
    [
        {"value": 0.0},
        {"value": -1.0},
        {"value": math.nan},
        {"value": math.inf},
        {"max_norm": 0.0},
        {"max_norm": math.nan},
        {"max_norm": 1.0, "norm_type": 0.5},
        {"max_norm": 1.0, "norm_type": math.nan},
    ],
)
def test_bad_clipping_values_are_invalid_input(fields: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        Clipping(**fields)


def test_the_rule_and_the_torch_calls_say_value_first_then_norm() -> None:
    both = Clipping(value=0.5, max_norm=1.0, norm_type=math.inf)
    assert both.rule().startswith("value first, then norm: g = clamp(g, -0.5, 0.5); ")
    assert both.torch() == (
        "torch.nn.utils.clip_grad_value_(params, clip_value=0.5); "
        "torch.nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=float('inf'))"
    )
    assert Clipping(max_norm=1.0).torch() == (
        "torch.nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=2.0)"
    )
    assert both.describe() == {
        "clip_grad_value": 0.5,
        "clip_grad_norm": {"max_norm": 1.0, "norm_type": "inf"},
    }


def _golden_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
    return cases


def _clipping(fields: dict[str, Any]) -> Clipping:
    norm = fields.get("clip_grad_norm")
    if norm is None:
        return Clipping(value=fields["clip_grad_value"])
    return Clipping(fields.get("clip_grad_value"), norm["max_norm"], float(norm["norm_type"]))


def test_the_goldens_cover_every_torch_named_optimizer_with_each_clipping() -> None:
    cases = _golden_cases()
    kinds = {(c["optimizer"]["name"], json.dumps(c["clipping"], sort_keys=True)) for c in cases}
    clippings = {clip for _, clip in kinds}
    assert len(clippings) >= 6  # value, norm 2, inf, 1.5, 1, both
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        assert {clip for n, clip in kinds if n == name} >= clippings - {
            json.dumps({"clip_grad_norm": {"max_norm": 1.0, "norm_type": 1.0}})
        }, name


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda case: case["name"])
def test_clipped_training_equals_torch_within_1e_9_relative(case: dict[str, Any]) -> None:
    hyper = {k: v for k, v in case["optimizer"].items() if k != "name"}
    clipping = _clipping(case["clipping"])
    fields = {"epochs": case["epochs"], "seed": case["seed"], "shuffle": case["shuffle"]}
    config = TrainConfig.named(case["optimizer"]["name"], hyper, clipping, **fields)
    got = run(config)
    assert got.initial_weights == case["initial_weights"]
    assert got.loss_history == pytest.approx(case["loss_history"], rel=1e-9, abs=0)
    assert got.final_weights == pytest.approx(case["final_weights"], rel=1e-9, abs=1e-15)
    assert _torch_form(config.optimizer.describe()["equivalent_to"]) == _torch_form(
        case["equivalent_to"]
    )
    unclipped = run(TrainConfig.named(case["optimizer"]["name"], hyper, **fields))
    assert unclipped.loss_history != pytest.approx(case["loss_history"], rel=1e-6)  # it bites


def _torch_form(text: str) -> tuple[str, dict[str, Any], str]:
    """ "torch.optim.X(k=v, ...); <clip calls> before optimizer.step()" as (X, kwargs, calls)."""
    call, _, clips = text.partition("; ")
    name, _, args = call.removeprefix("torch.optim.").partition("(")
    kwargs = eval(f"dict({args}", {"__builtins__": {"dict": dict, "True": True, "False": False}})
    return name, kwargs, clips


def test_clipping_is_part_of_a_configuration_s_fingerprint() -> None:
    plain = TrainConfig.named("adam")
    norm = TrainConfig.named("adam", clipping=Clipping(max_norm=1.0))
    assert len({plain.fingerprint(), norm.fingerprint()}) == 2
    inf = TrainConfig.named("adam", clipping=Clipping(max_norm=1.0, norm_type=math.inf))
    assert inf.fingerprint() != norm.fingerprint()
    assert norm.fingerprint() == TrainConfig.named("adam", {}, Clipping(None, 1.0)).fingerprint()
