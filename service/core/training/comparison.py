"""Several training runs side by side: their labels and which one did best.

Definitions (the API documents the same):
- final loss: the last epoch's mean loss of a completed run; None for a diverged run.
- epochs to threshold: the first epoch (1-based) whose mean loss is <= threshold; None if none.
- converged fastest: among completed runs that reach the threshold, the fewest epochs to it;
  ties go to the lower final loss, then to the earlier run. None when no run reaches it.
- lowest final loss: the completed run with the smallest final loss (ties: the earlier run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from service.core.errors import InvalidInput
from service.core.training.loop import TrainResult


@dataclass(frozen=True)
class Ranking:
    """Per-run figures and the winners, as indices into the runs."""

    final_losses: list[float | None]
    epochs_to_threshold: list[int | None]
    converged_fastest: int | None
    lowest_final_loss: int | None


def label_runs(labels: Sequence[str | None], optimizers: Sequence[str]) -> list[str]:
    """Given labels, else the optimizer's name, numbered ("sgd #2") when it repeats."""
    counts = Counter(optimizers[i] for i, label in enumerate(labels) if label is None)
    named = [
        label if label is not None else name if counts[name] == 1 else f"{name} #{i + 1}"
        for i, (label, name) in enumerate(zip(labels, optimizers, strict=True))
    ]
    repeated = sorted(label for label, n in Counter(named).items() if n > 1)
    if repeated:
        raise InvalidInput(f"each configuration needs a distinct label; repeated: {repeated}")
    return named


def epochs_to_reach(history: Sequence[float], threshold: float) -> int | None:
    """The first epoch (1-based) whose loss is at or below the threshold."""
    return next((epoch for epoch, loss in enumerate(history, 1) if loss <= threshold), None)


def rank(results: Sequence[TrainResult], threshold: float) -> Ranking:
    """Final losses, epochs to the threshold, and the two winners."""
    finals = [
        r.loss_history[-1] if r.status == "completed" and r.loss_history else None for r in results
    ]
    reached = [epochs_to_reach(r.loss_history, threshold) for r in results]
    finished = [i for i, final in enumerate(finals) if final is not None]
    fast = [i for i in finished if reached[i] is not None]
    return Ranking(
        final_losses=finals,
        epochs_to_threshold=reached,
        converged_fastest=min(fast, key=lambda i: (reached[i], finals[i], i), default=None),
        lowest_final_loss=min(finished, key=lambda i: (finals[i], i), default=None),
    )
