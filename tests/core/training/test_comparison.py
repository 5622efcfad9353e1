"""Labels and winners of a comparison."""

from __future__ import annotations

import pytest

from service.core.errors import InvalidInput
from service.core.training.comparison import epochs_to_reach, label_runs, rank
from service.core.training.loop import TrainResult


def result(history: list[float], status: str = "completed") -> TrainResult:
    return TrainResult(history, [0.0] * 9, [0.0] * 9, len(history), 0, status)


def test_labels_default_to_the_optimizer_numbered_only_when_it_repeats() -> None:
    labels = label_runs([None, None, "mine", None], ["sgd", "adam", "sgd", "sgd"])
    assert labels == ["sgd #1", "adam", "mine", "sgd #4"]


def test_repeated_labels_are_refused() -> None:
    with pytest.raises(InvalidInput, match="distinct label"):
        label_runs(["adam", None], ["sgd", "adam"])


def test_epochs_to_reach_is_one_based_and_inclusive() -> None:
    assert epochs_to_reach([0.5, 0.1, 0.05], 0.1) == 2
    assert epochs_to_reach([0.5, 0.2], 0.1) is None
    assert epochs_to_reach([], 0.1) is None


def test_fastest_is_fewest_epochs_then_lower_final_loss_then_earlier() -> None:
    ranking = rank(
        [result([0.5, 0.05, 0.04]), result([0.5, 0.09, 0.01]), result([0.05, 0.2, 0.3])], 0.1
    )
    assert ranking.epochs_to_threshold == [2, 2, 1]
    assert ranking.converged_fastest == 2
    assert ranking.lowest_final_loss == 1
    tie = rank([result([0.5, 0.05]), result([0.5, 0.05])], 0.1)
    assert (tie.converged_fastest, tie.lowest_final_loss) == (0, 0)
    by_final = rank([result([0.5, 0.09, 0.02]), result([0.5, 0.08, 0.01])], 0.1)
    assert by_final.converged_fastest == 1


def test_diverged_runs_have_no_final_loss_and_never_win() -> None:
    ranking = rank([result([0.001], "diverged"), result([0.5, 0.2])], 0.1)
    assert ranking.final_losses == [None, 0.2]
    assert ranking.epochs_to_threshold == [1, None]
    assert ranking.converged_fastest is None
    assert ranking.lowest_final_loss == 1
    assert rank([result([], "diverged")], 0.1).lowest_final_loss is None
