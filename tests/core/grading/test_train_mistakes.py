"""The compiled wrong versions of training: anchored on the training kernel with no mutation,
every label in the corpus' vocabulary, and the search bounded and naming a compound mistake."""

from __future__ import annotations

import pytest

from service.core.grading import train_kernel, train_mistakes
from service.core.training.loop import TrainConfig, run
from tests.support.students import LABELS

HYPER = {
    "sgd": {"learning_rate": 0.001},
    "momentum": {"learning_rate": 0.01, "beta": 0.9},
    "adam": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_the_unmutated_trajectory_is_the_course_run(optimizer: str) -> None:
    config = TrainConfig.named(optimizer, HYPER[optimizer], epochs=2, initial_weights=[0.1] * 9)
    form = train_mistakes.course_form(config)
    assert form is not None
    right = run(config)
    losses, w, done = train_mistakes._run(config, form, train_mistakes.Trajectory(()), 2, optimizer)
    assert done == 2
    assert losses[0].tolist() == pytest.approx(right.loss_history, rel=1e-13)
    assert losses[1].tolist() == pytest.approx([h * 506 for h in right.loss_history], rel=1e-13)
    assert w.tolist() == pytest.approx(right.final_weights, rel=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_trajectory_speaks_the_vocabulary(optimizer: str) -> None:
    for traj in train_mistakes.trajectories(optimizer, 0.001):
        for label in traj.labels:
            assert label in LABELS
            assert label in train_mistakes.SENTENCES
    assert set(train_mistakes.LOSS_SENTENCES) <= set(LABELS)


def test_a_compound_of_an_update_rule_and_a_bookkeeping_is_named() -> None:
    config = TrainConfig.named("momentum", HYPER["momentum"], epochs=2)
    form = train_mistakes.course_form(config)
    assert form is not None
    torch = train_mistakes.Trajectory(("torch_momentum",), update="torch")
    losses, _, _ = train_mistakes._run(config, form, torch, 2, config.fingerprint())
    summed = losses[1].tolist()
    found = train_mistakes.variants(config, run(config), {"loss_history": summed})
    assert found[0].labels == ("torch_momentum", "loss_sum")


def test_other_optimizers_are_not_searched_and_the_plan_is_bounded() -> None:
    assert train_mistakes.variant_count(TrainConfig.named("rmsprop")) == 0
    config = TrainConfig.named("adam", epochs=20)
    assert train_mistakes.variant_count(config) == 1 + train_mistakes.FULL_RUNS


def test_shuffled_cases_are_not_searched_and_the_kernel_warms() -> None:
    assert train_mistakes.course_form(TrainConfig.named("sgd", shuffle=True)) is None
    train_kernel.warm()
