"""Unit tests of the grading core: policies, items, hidden errors, the wrong versions' anchors."""

from __future__ import annotations

import random

import pytest

from service.core.dataset import load_dataset
from service.core.grading import tasks as graders
from service.core.grading import train_mistakes as train_variants
from service.core.grading.policy import (
    Policy,
    Variant,
    first_mismatch,
    grade,
    magnitude,
    resolve_policy,
)
from service.core.graph import adjoints, backward, forward, loss
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run
from service.core.training.registry import resolve


@pytest.mark.parametrize(
    ("policy", "submitted", "expected", "passes"),
    [
        (Policy("exact"), 0.1 + 0.2, 0.30000000000000004, True),
        (Policy("exact"), 0.3, 0.30000000000000004, False),
        (Policy("exact"), -0.0, 0.0, True),
        (Policy("decimals", decimals=6), -0.229733, -0.22973323521302547, True),
        (Policy("decimals", decimals=6), -0.229734, -0.22973323521302547, False),
        (Policy("relabs", rtol=1e-6), 1.0000009, 1.0, True),
        (Policy("relabs", rtol=1e-6), 1.0000011, 1.0, False),
        (Policy("relabs", atol=1e-8), 5e-9, 0.0, True),
        (Policy("relabs", rtol=1e-6, atol=1e-8), 2e-8, 0.0, False),
    ],
)
def test_policies_accept_what_their_rule_says(
    policy: Policy, submitted: float, expected: float, passes: bool
) -> None:
    assert policy.accepts(submitted, expected) is passes


def test_course_default_policies_are_exact_decimals_and_relabs() -> None:
    assert resolve_policy("forward") == Policy("exact")
    assert resolve_policy("backward") == Policy("decimals", decimals=6)
    assert resolve_policy("gradcheck") == Policy("relabs", rtol=1e-6, atol=1e-8)
    assert resolve_policy("train") == Policy("relabs", rtol=1e-6, atol=1e-10)
    assert resolve_policy("train", "relabs", atol=0.0) == Policy("relabs", rtol=1e-6, atol=0.0)
    assert resolve_policy("forward", "relabs") == Policy("relabs", rtol=1e-9, atol=0.0)
    assert resolve_policy("backward", decimals=3) == Policy("decimals", decimals=3)


def test_first_mismatch_is_one_based_and_counts_a_short_list() -> None:
    policy = Policy("exact")
    assert first_mismatch(policy, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) is None
    assert first_mismatch(policy, [1.0, 2.5, 3.0], [1.0, 2.0, 3.0]) == 2
    assert first_mismatch(policy, [1.0, 2.0], [1.0, 2.0, 3.0]) == 3
    assert first_mismatch(policy, 2.0, 2.0) is None


@pytest.mark.parametrize(
    ("error", "shown"), [(0.0, 0.0), (0.034, 0.01), (1.0, 1.0), (999.0, 100.0), (3e-12, 1e-12)]
)
def test_hidden_errors_round_down_to_a_power_of_ten(error: float, shown: float) -> None:
    assert magnitude(error) == pytest.approx(shown, rel=1e-12)


def test_a_wrong_version_equal_to_the_answer_is_never_the_diagnosis() -> None:
    same = Variant("same", "the same thing", {"a": 1.0})
    other = Variant("other", "another thing", {"a": 2.0})
    result = grade("forward", {"a": 1.0}, {"a": 2.0}, variants=[same, other])
    assert result.items[0].diagnosis == "other"
    assert "another thing" in result.items[0].message


def test_score_weighs_points_and_hides_expected_values() -> None:
    result = grade("forward", {"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3.0}, points={"b": 3.0})
    assert (result.score, result.max_score, result.passed) == (1.0, 4.0, False)
    assert all(item.expected is None for item in result.items)
    assert "2.0" not in result.items[1].message
    shown = grade("forward", {"b": 2.0}, {"b": 3.0}, reveal=True)
    assert shown.items[0].expected == 2.0
    assert "Expected 2.0." in shown.items[0].message


def _random_point(rng: random.Random) -> tuple[list[float], float, list[float]]:
    x = [rng.uniform(-2, 2) for _ in range(5)]
    w = [rng.uniform(-1, 1) for _ in range(9)]
    return x, rng.uniform(-2, 2), w


def test_the_stages_wrong_versions_start_from_are_graph_backward_exactly() -> None:
    rng = random.Random(4)
    for _ in range(200):
        cache = forward(*_random_point(rng))
        right = adjoints(cache)
        assert right.weights == backward(cache)
        for stage in ("sigmoid", "sigmoid_in", "tanh", "tanh_in", "exp_in"):
            given = {stage: getattr(right, stage)}
            assert adjoints(cache, given=given).weights == right.weights, stage


def test_optional_items_are_graded_only_when_submitted_or_given_points() -> None:
    x, y, w = _random_point(random.Random(1))
    only_difference = graders.grade_gradcheck(x, y, w, 1e-7, None, 0.0, None)
    assert [i.name for i in only_difference.items] == ["difference"]
    with_points = graders.grade_gradcheck(
        x, y, w, 1e-7, None, 0.0, None, points={"numerical.w3": 2.0}
    )
    assert [i.name for i in with_points.items] == ["difference", "numerical.w3"]
    assert with_points.max_score == 3.0


def test_config_variants_flip_adam_bias_correction_and_give_torch_momentum() -> None:
    (adam,) = train_variants.config_variants(TrainConfig.named(optimizer="adam"))
    assert adam[2].optimizer.hyper["bias_correction"] is True
    (corrected,) = train_variants.config_variants(
        TrainConfig.named(optimizer="adam", hyper={"bias_correction": True})
    )
    assert corrected[2].optimizer.hyper["bias_correction"] is False
    (torch,) = train_variants.config_variants(TrainConfig.named(optimizer="momentum"))
    assert torch[2].optimizer == resolve("sgd", {"learning_rate": 0.01, "momentum": 0.9})
    assert train_variants.config_variants(TrainConfig.named(optimizer="sgd")) == []


def test_config_variants_keep_the_run_s_clipping() -> None:
    clipping = Clipping(max_norm=1.0)
    for optimizer in ("adam", "momentum"):
        config = TrainConfig.named(optimizer=optimizer, clipping=clipping)
        ((_, _, variant),) = train_variants.config_variants(config)
        assert variant.optimizer.clipping == clipping


def test_loop_variants_start_from_the_course_run_and_are_bounded() -> None:
    config = TrainConfig.named(epochs=2)
    expected = run(config, reference=True)
    after_epoch, after_update, full_batch = train_variants.loop_variants(config)
    rows = list(zip(load_dataset().X, load_dataset().y, strict=True))
    at_start = [loss(x, float(y), expected.initial_weights) for x, y in rows]
    assert full_batch.values["loss_history"][0] == pytest.approx(sum(at_start) / 506, rel=1e-12)
    end_of_epoch_1 = run(TrainConfig.named(epochs=1), reference=True)
    at_end = [loss(x, float(y), end_of_epoch_1.final_weights) for x, y in rows]
    assert after_epoch.values["loss_history"][0] == pytest.approx(sum(at_end) / 506, rel=1e-12)
    assert after_update.values["loss_history"][0] < expected.loss_history[0]
    assert train_variants.loop_variants(TrainConfig.named(epochs=1000)) == []
