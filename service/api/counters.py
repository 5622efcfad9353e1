"""The service's own Prometheus counters: trainings, their steps, and grade verdicts.

The training pool records every training (whatever asked for it) and the grading routes every
verdict; GET /metrics (routes/operations.py) serves them with the HTTP metrics. A training's
status is "completed", "diverged", or "cancelled" (its client left before it finished).

Tested by api_tests/test_observability.py, api_tests/test_limits.py and
api_tests/test_cancellation.py.
"""

from __future__ import annotations

from prometheus_client import Counter

TRAININGS = Counter(
    "backprop_trainings_total",
    "Training runs ended, by optimizer and status (completed, diverged, cancelled).",
    ["optimizer", "status"],
)
TRAINING_STEPS = Counter(
    "backprop_training_steps_total", "Per-sample updates performed, by optimizer.", ["optimizer"]
)
GRADES = Counter(
    "backprop_grade_verdicts_total", "Graded submissions, by task and verdict.", ["task", "verdict"]
)


def record_training(optimizer: str, status: str, steps: int) -> None:
    """Count one finished training run and its updates."""
    TRAININGS.labels(optimizer, status).inc()
    TRAINING_STEPS.labels(optimizer).inc(steps)


def record_grade(task: str, passed: bool) -> None:
    """Count one graded submission."""
    GRADES.labels(task, "pass" if passed else "fail").inc()
