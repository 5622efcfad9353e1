"""Every task is graded in core; a training case through the trainer the caller passes."""

from __future__ import annotations

from collections.abc import Sequence

from service.core.grading import tasks
from service.core.training.loop import TrainConfig, TrainResult, run


class CountingTrainer:
    """Trains as the reference does and remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, configs: Sequence[TrainConfig]) -> list[TrainResult]:
        self.calls.append([config.optimizer.name for config in configs])
        return [run(config) for config in configs]


def test_a_right_history_is_graded_after_training_the_case_only() -> None:
    config = TrainConfig.named("adam", epochs=2)
    history = run(config).loss_history
    trainer = CountingTrainer()
    grade = tasks.grade_train(config, {"loss_history": history}, trainer)
    assert grade.passed
    assert grade.score == grade.max_score == 1.0
    assert trainer.calls == [["adam"]]


def test_a_wrong_history_trains_the_wrong_versions_and_names_the_mistake() -> None:
    config = TrainConfig.named("adam", epochs=2)
    plan = tasks.training_plan(config)
    flipped = plan[1]  # the course's Adam with torch's bias correction
    assert flipped.optimizer.hyper["bias_correction"] is True
    trainer = CountingTrainer()
    wrong = run(flipped).loss_history
    grade = tasks.grade_train(config, {"loss_history": wrong}, trainer)
    assert not grade.passed
    assert grade.items[0].diagnosis == "adam_bias_correction_flipped"
    assert trainer.calls == [["adam"], ["adam"]]


def test_the_plan_lists_the_case_first_and_only_configuration_variants() -> None:
    assert [c.optimizer.name for c in tasks.training_plan(TrainConfig.named("momentum"))] == [
        "momentum",
        "sgd",
    ]
    assert len(tasks.training_plan(TrainConfig.named("sgd"))) == 1
