"""Wrong versions of the course's training (SPEC §5), to say why a submitted run differs.

Tested by tests/core/grading/test_tasks.py.
"""

from __future__ import annotations

from service.core.grading.policy import Variant
from service.core.training.loop import TrainConfig, TrainResult

LOSS_SUM = "the epoch's loss as the sum of the per-row losses, not their mean"


def variant_count(config: TrainConfig) -> int:
    """How many runs of the case's size the search trains (for the step limits)."""
    return 0


def variants(config: TrainConfig, result: TrainResult) -> list[Variant]:
    """The wrong versions of the case's run."""
    n = config.rows
    summed = [h * n for h in result.loss_history]
    return [Variant("loss_sum", LOSS_SUM, {"loss_history": summed}, ("loss_sum",))]
