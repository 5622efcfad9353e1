"""Where training runs: off the event loop, so other requests keep answering."""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from service.api.metrics import record_training
from service.core.training import TrainConfig, TrainResult, run


async def execute(config: TrainConfig) -> tuple[TrainResult, dict[str, Any]]:
    """Train one configuration in a worker thread; returns the result and the optimizer block."""
    result, optimizer = await to_thread.run_sync(run, config)
    record_training(config.optimizer, result.status, result.steps)
    return result, optimizer
