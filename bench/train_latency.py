"""End to end: median POST /train latency minus the kernel's time vs median POST /forward (<= 2x).

    python -m bench.train_latency [--port 18120] [--requests 300]

One uvicorn server (the production command line, bench.harness) on 127.0.0.1; one keep-alive
client sends /forward and /train (defaults: the course's sgd run) alternately, one at a time.
The kernel's time for the same run is measured in this process, in the same run of the bench.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import numpy as np

from bench.harness import HOST, server
from service.core.dataset import load_dataset
from service.core.training import kernel, registry
from service.core.training.loop import initial_weights, kernel_inputs

FORWARD = {"w": [0.1] * 9, "row": 0}


def kernel_seconds(repeats: int) -> float:
    """Median time of the kernel alone on the default /train run (sgd, 20 epochs)."""
    data = load_dataset()
    code, p, _ = kernel_inputs(registry.resolve("sgd"))
    train_epochs = kernel.compiled()
    order = np.arange(len(data.y), dtype=np.int64)[np.newaxis]
    times = []
    for _ in range(repeats):
        w, _ = initial_weights(0)
        state, history = kernel_inputs(registry.resolve("sgd"))[2], np.empty(20)
        counters = np.array([0, 0, -1], dtype=np.int64)
        start = time.perf_counter()
        train_epochs(data.X, data.y, order, 20, code, p, w, state, history, counters)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Alternate the two requests; print medians, the /train overhead and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18120)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    latencies: dict[str, list[float]] = {"/forward": [], "/train": []}
    with server(args.port), httpx.Client(base_url=f"http://{HOST}:{args.port}") as client:
        for i in range(args.requests + 30):
            for path, body in (("/forward", FORWARD), ("/train", {})):
                start = time.perf_counter()
                response = client.post(path, json=body)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.text
                if i >= 30:  # the first ones warm both sides up
                    latencies[path].append(elapsed)
    compute = kernel_seconds(args.requests)
    forward, train = (statistics.median(latencies[p]) for p in ("/forward", "/train"))
    overhead = train - compute
    print(
        f"median POST /forward {forward * 1e3:.3f} ms, median POST /train {train * 1e3:.3f} ms, "
        f"kernel alone {compute * 1e3:.3f} ms ({args.requests} requests each)"
    )
    print(
        f"/train minus kernel = {overhead * 1e3:.3f} ms = {overhead / forward:.2f}x the /forward "
        "median (target <= 2)"
    )


if __name__ == "__main__":
    main()
