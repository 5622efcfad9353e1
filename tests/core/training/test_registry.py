"""One spec per optimizer: resolving, the fast paths, and what is derived from the specs."""

from __future__ import annotations

import pytest

from service.core.errors import InvalidInput
from service.core.training import kernel
from service.core.training.clipping import Clipping
from service.core.training.registry import CLIPPING_COST, HYPERPARAMETERS, SPECS, resolve


def test_resolve_fills_the_defaults_and_refuses_another_optimizer_s_hyperparameter() -> None:
    assert resolve("momentum").hyper == {"learning_rate": 0.01, "beta": 0.9}
    with pytest.raises(InvalidInput, match="does not take beta1") as refused:
        resolve("momentum", {"beta1": 0.5})
    assert refused.value.errors == [
        {
            "loc": ["body", "beta1"],
            "msg": "not a hyperparameter of 'momentum'",
            "type": "extra_forbidden",
        }
    ]


def test_nesterov_needs_momentum_as_torch_says() -> None:
    with pytest.raises(InvalidInput, match="nesterov"):
        resolve("sgd", {"nesterov": True})
    assert resolve("sgd", {"nesterov": True, "momentum": 0.9}).hyper["nesterov"] is True


@pytest.mark.parametrize(
    ("name", "given", "loop"),
    [
        ("sgd", {}, "vanilla"),
        ("sgd", {"momentum": 0.9}, "sgd"),
        ("sgd", {"weight_decay": 0.1}, "sgd"),
        ("adam", {}, "course_adam"),
        ("adam", {"bias_correction": True}, "adam"),
        ("adam", {"amsgrad": True}, "adam"),
        ("adamw", {"weight_decay": 0.0}, "adam"),
        ("momentum", {}, "momentum"),
    ],
)
def test_the_fast_path_is_taken_exactly_when_its_values_hold(
    name: str, given: dict[str, float | bool], loop: str
) -> None:
    assert resolve(name, given).loop() == loop


def test_adamw_reads_adam_s_layout_with_decoupled_decay_and_bias_correction_pinned() -> None:
    adamw = resolve("adamw")
    p = kernel.flatten(adamw.spec.kernel, adamw.kernel_values())
    layout = kernel.PARAMETERS["adam"]
    assert p[layout.index("decoupled")] == 1.0
    assert p[layout.index("bias_correction")] == 1.0
    assert p[layout.index("weight_decay")] == 0.01


def test_every_spec_describes_itself_and_has_a_cost() -> None:
    for spec in SPECS.values():
        described = resolve(spec.name).describe()
        assert described["name"] == spec.name
        assert described["hyperparameters"] == spec.defaults
        assert described["rule"]
        assert spec.step_cost >= 1.0
    assert len(HYPERPARAMETERS) == len(set(HYPERPARAMETERS))


def test_a_clipped_optimizer_names_its_clipping_rule_and_torch_calls() -> None:
    clipped = resolve("adamw", {}, Clipping(max_norm=1.0))
    described = clipped.describe()
    plain = resolve("adamw").describe()
    assert described["clipping"] == {
        "clip_grad_value": None,
        "clip_grad_norm": {"max_norm": 1.0, "norm_type": 2.0},
    }
    assert described["rule"] == "g *= min(1, 1.0 / (||g||_2.0 + 1e-6)); then " + plain["rule"]
    assert described["equivalent_to"] == (
        plain["equivalent_to"] + "; torch.nn.utils.clip_grad_norm_(params, max_norm=1.0, "
        "norm_type=2.0) before optimizer.step()"
    )
    assert plain["clipping"] is None
    assert clipped.loop() == resolve("adamw").loop()


def test_an_optimizer_torch_lacks_stays_without_a_torch_form_when_clipped() -> None:
    described = resolve("momentum", {}, Clipping(value=0.5, max_norm=1.0)).describe()
    assert described["equivalent_to"] is None
    assert described["rule"].startswith("value first, then norm: g = clamp(g, -0.5, 0.5); g *= ")


def test_clipping_costs_its_share_of_a_step_in_the_scheduler() -> None:
    for spec in SPECS.values():
        assert resolve(spec.name).step_cost == spec.step_cost
        clipped = resolve(spec.name, {}, Clipping(max_norm=1.0)).step_cost
        assert clipped == spec.step_cost * CLIPPING_COST
    assert 1.0 < CLIPPING_COST <= 1.1  # the budget, measured by bench/clipping.py
