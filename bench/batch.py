"""POST /train/batch of the three course optimizers vs the same three POST /train in a row.

    python -m bench.batch [--port 18140] [--repeats 15]

One uvicorn server (bench.harness) on 127.0.0.1. For the default 20 epochs and for 2000 epochs
(about 1 M steps per run, where the kernel dominates), times the three /train requests one
after another (the baseline) and the one batch request, alternately; prints medians and the
ratio (target <= 0.6 on 2 cores), and checks that the results are the same.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from bench.harness import HOST, server

COURSE = ("sgd", "momentum", "adam")


def compare(client: httpx.Client, epochs: int, repeats: int) -> str:
    """Medians of the three requests in a row and of the batch, alternately; same results."""
    configs = [{"optimizer": name, "epochs": epochs} for name in COURSE]
    one_by_one, batch = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        singles = [client.post("/train", json=config).json() for config in configs]
        one_by_one.append(time.perf_counter() - start)
        start = time.perf_counter()
        together = client.post("/train/batch", json={"configs": configs}).json()
        batch.append(time.perf_counter() - start)
        assert together == {"results": singles}
    sequential, parallel = statistics.median(one_by_one), statistics.median(batch)
    return (
        f"{epochs:5} epochs x 506 rows: 3 x POST /train in a row {sequential * 1e3:8.2f} ms, "
        f"POST /train/batch {parallel * 1e3:8.2f} ms, ratio {parallel / sequential:.2f} "
        f"(target <= 0.6; medians of {repeats}; same results)"
    )


def main() -> None:
    """Sequential vs batch, for two run lengths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18140)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with server(args.port), httpx.Client(base_url=f"http://{HOST}:{args.port}", timeout=120) as c:
        for epochs in (20, 2000):
            print(compare(c, epochs, args.repeats))


if __name__ == "__main__":
    main()
