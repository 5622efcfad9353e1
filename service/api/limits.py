"""Refuse work beyond the configured limits before any of it starts."""

from __future__ import annotations

from service.core.errors import LimitExceeded
from service.settings import Settings


def check_training(settings: Settings, rows: int, epochs: int, configs: int = 1) -> None:
    """Raise LimitExceeded when rows, epochs or rows x epochs x configs is over its limit."""
    if rows > settings.max_dataset_rows:
        raise LimitExceeded(
            f"the dataset has {rows} rows; the limit is {settings.max_dataset_rows} "
            "(BACKPROP_MAX_DATASET_ROWS)"
        )
    if epochs > settings.max_epochs:
        raise LimitExceeded(
            f"epochs = {epochs}; the limit is {settings.max_epochs} (BACKPROP_MAX_EPOCHS)"
        )
    steps = rows * epochs * configs
    if steps > settings.max_total_steps:
        raise LimitExceeded(
            f"this request asks for {steps} training steps (rows x epochs x configurations); "
            f"the limit is {settings.max_total_steps} (BACKPROP_MAX_TOTAL_STEPS)"
        )


def check_batch(settings: Settings, runs: list[tuple[int, int]]) -> None:
    """check_training for each (rows, epochs) run, then for the steps of the whole batch."""
    for rows, epochs in runs:
        check_training(settings, rows, epochs)
    steps = sum(rows * epochs for rows, epochs in runs)
    if steps > settings.max_total_steps:
        raise LimitExceeded(
            f"this batch asks for {steps} training steps (rows x epochs, summed over its "
            f"{len(runs)} configurations); the limit is {settings.max_total_steps} "
            "(BACKPROP_MAX_TOTAL_STEPS)"
        )
