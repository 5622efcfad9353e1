"""Every task is graded in core; a training case through the trainer the caller passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.core.grading import tasks, train_mistakes
from service.core.grading.policy import Variant
from service.core.training.loop import TrainConfig, TrainResult, run


class CountingTrainer:
    """Trains as the reference does and remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, configs: Sequence[TrainConfig]) -> list[TrainResult]:
        self.calls.append([config.optimizer.name for config in configs])
        return [run(config) for config in configs]


class Slot:
    """A variant runner that counts its jobs."""

    def __init__(self) -> None:
        self.jobs = 0

    def __call__(self, job: Callable[[], list[Variant]]) -> list[Variant]:
        self.jobs += 1
        return job()


def test_a_right_history_is_graded_after_training_the_case_only() -> None:
    config = TrainConfig.named("adam", epochs=2)
    history = run(config).loss_history
    trainer, slot = CountingTrainer(), Slot()
    grade = tasks.grade_train(config, {"loss_history": history}, trainer, run_variants=slot)
    assert grade.passed
    assert grade.score == grade.max_score == 1.0
    assert trainer.calls == [["adam"]]
    assert slot.jobs == 0


def test_a_wrong_history_searches_the_compiled_variants_in_the_slot_and_names_it() -> None:
    config = TrainConfig.named("momentum", epochs=2)
    summed = [h * config.rows for h in run(config).loss_history]
    trainer, slot = CountingTrainer(), Slot()
    grade = tasks.grade_train(config, {"loss_history": summed}, trainer, run_variants=slot)
    assert not grade.passed
    assert grade.items[0].labels == ("loss_sum",)
    assert trainer.calls == [["momentum"]]
    assert slot.jobs == 1


def test_a_short_history_is_graded_on_the_epochs_given() -> None:
    config = TrainConfig.named("sgd", epochs=3)
    history = run(config).loss_history[:2]
    assert tasks.grade_train(config, {"loss_history": history}, CountingTrainer()).passed


def test_the_plan_counts_the_case_and_the_search_s_bound() -> None:
    config = TrainConfig.named("momentum", epochs=20)
    plan = tasks.training_plan(config)
    assert len(plan) == 1 + train_mistakes.variant_count(config)  # the case, probes, full runs
    assert len(plan) <= 1 + 3 + 4
    assert len(tasks.training_plan(TrainConfig.named("rmsprop"))) > 1  # every optimizer searched
