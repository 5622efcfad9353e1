"""What stopping costs: one /train run in slices (as the pool runs it, so that a client that
leaves stops it before the next slice) vs the same run in one go, in the same process.

    python -m bench.slices [--epochs 4000] [--pairs 8]

Both run in a worker thread at the pool's lower priority; pairs alternate, and the median of the
pairs' ratios is printed (sliced / one go; 1.00 = free). No server; the kernel compiles or loads
first.
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
from anyio import to_thread

from service.api import training_pool
from service.core.training.loop import TrainConfig, finish, session
from service.settings import get_settings


def main() -> None:
    """Time the pairs and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=4000)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--optimizer", default="adam")
    args = parser.parse_args()
    config = TrainConfig.named(optimizer=args.optimizer, epochs=args.epochs)

    def whole() -> object:
        training_pool.lower_priority()
        return finish(session(config))

    async def one_go() -> object:
        return await to_thread.run_sync(whole)

    async def sliced() -> object:
        return await training_pool.train(get_settings(), config)

    anyio.run(one_go)  # compile or load the kernel
    ratios, seconds = [], []
    for _ in range(args.pairs):
        start = time.perf_counter()
        anyio.run(one_go)
        middle = time.perf_counter()
        anyio.run(sliced)
        end = time.perf_counter()
        ratios.append((end - middle) / (middle - start))
        seconds.append(middle - start)
    slices = -(-config.steps // training_pool.SLICE_STEPS)
    print(
        f"{args.optimizer}, {args.epochs} epochs ({config.steps} steps, {slices} slices): one go "
        f"median {statistics.median(seconds):.3f} s; sliced / one go: median "
        f"{statistics.median(ratios):.3f} (pairs: {', '.join(f'{r:.2f}' for r in sorted(ratios))})"
    )


if __name__ == "__main__":
    main()
