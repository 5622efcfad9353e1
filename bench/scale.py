"""Training time is linear in rows x epochs, and memory O(rows): 10k to 10M steps.

    python -m bench.scale [--max-steps 10000000]

Each size runs in a fresh Python process (so its peak RSS, ru_maxrss, is its own) through
service.core.training.run, shuffled (the path that draws permutations chunk by chunk):
first the built-in 506 rows with ever more epochs (RSS must stay flat), then ever more rows
(random custom data, standardized) at a fixed number of steps (RSS grows with rows only).
Prints wall and CPU seconds (CPU per step is the figure that noise from other processes on the
machine does not inflate), and peak RSS; the baseline is the first run of the same series.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import numpy as np
from service.core.training.loop import TrainConfig, run
rows, epochs = int(sys.argv[1]), int(sys.argv[2])
data = {}
if rows:
    rng = np.random.default_rng(1)
    data = {"X": rng.normal(size=(rows, 5)), "y": rng.normal(size=rows), "standardize": True}
run(TrainConfig.named(optimizer="adam", epochs=1, **data))  # loads the kernel
start, cpu = time.perf_counter(), time.process_time()
result = run(TrainConfig.named(optimizer="adam", epochs=epochs, shuffle=True, **data))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "steps": result.steps, "rss": rss}))
"""


def measure(rows: int, epochs: int) -> dict[str, float]:
    """Train in a child process; its seconds, steps and peak RSS in bytes."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), str(epochs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    figures: dict[str, float] = json.loads(out.splitlines()[-1])
    return figures


def report(label: str, figures: dict[str, float], base: dict[str, float]) -> None:
    """One line: size, time, time per step, peak RSS, and ratios to the series' baseline."""
    per_step = figures["cpu"] / figures["steps"] * 1e9
    base_step = base["cpu"] / base["steps"] * 1e9
    print(
        f"{label:26} steps {int(figures['steps']):>10,}  wall {figures['seconds']:7.3f} s  "
        f"CPU {figures['cpu']:7.3f} s = {per_step:5.1f} ns/step ({per_step / base_step:4.2f}x "
        f"the first run)  peak RSS {figures['rss'] / 2**20:6.1f} MiB "
        f"({figures['rss'] / base['rss']:4.2f}x)"
    )


def main() -> None:
    """Both series, smallest first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=10_000_000)
    args = parser.parse_args()
    sizes = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s <= args.max_steps]
    print(f"parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    base: dict[str, float] = {}
    for steps in sizes:
        epochs = max(1, round(steps / 506))
        figures = measure(0, epochs)
        base = base or figures
        report(f"506 rows x {epochs} epochs", figures, base)
    base = {}
    for rows in (1_000, 10_000, 100_000, 1_000_000):
        epochs = max(1, sizes[-1] // rows)
        figures = measure(rows, epochs)
        base = base or figures
        report(f"{rows:,} rows x {epochs} epochs", figures, base)


if __name__ == "__main__":
    main()
