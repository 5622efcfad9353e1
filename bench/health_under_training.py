"""While 4 maximal trainings run, GET /health p99 stays under 50 ms.

Run from the repository's root: ``python -m bench.health_under_training``. Starts its own uvicorn
server on 127.0.0.1 (port 18311 unless --port), posts 4 trainings as large as the default limits
allow (a custom dataset of BACKPROP_MAX_DATASET_ROWS rows that fits the body limit, epochs up to
BACKPROP_MAX_TOTAL_STEPS, adam: the slowest optimizer), and probes /health every 5 ms on its own
connection until the trainings end or --seconds pass; then the server is killed. With --builtin the
trainings use the built-in dataset with the most epochs allowed (a small body, long compute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import Any

import httpx
import numpy as np

from bench.harness import HOST, percentile, server, verdict
from service.core.dataset import BUILTIN_ROWS
from service.settings import Settings

TRAININGS = 4
LIMIT_MS = 50.0


def builtin_body(settings: Settings) -> tuple[bytes, int, int]:
    """The longest training on the built-in dataset the limits allow: (JSON body, rows, epochs)."""
    epochs = min(settings.max_epochs, settings.max_total_steps // BUILTIN_ROWS)
    body = json.dumps({"optimizer": "adam", "epochs": epochs}).encode()
    return body, BUILTIN_ROWS, epochs


def maximal_body(settings: Settings) -> tuple[bytes, int, int]:
    """The largest training the limits allow: (JSON body, rows, epochs)."""
    rows = settings.max_dataset_rows
    while True:
        rng = np.random.default_rng(0)
        X = np.round(rng.normal(0, 1, (rows, 5)), 1).tolist()
        y = np.round(rng.normal(0, 1, rows), 1).tolist()
        epochs = max(1, min(settings.max_epochs, settings.max_total_steps // rows))
        request = {"optimizer": "adam", "epochs": epochs, "data": {"X": X, "y": y}}
        body = json.dumps(request, separators=(",", ":")).encode()
        if len(body) <= settings.max_body_bytes:
            return body, rows, epochs
        rows = rows * 9 // 10


async def train(client: httpx.AsyncClient, body: bytes, outcomes: list[Any]) -> None:
    """Post one training; record its status and seconds (or the error)."""
    started = time.perf_counter()
    try:
        response = await client.post(
            "/train", content=body, headers={"Content-Type": "application/json"}
        )
        outcomes.append((response.status_code, time.perf_counter() - started))
    except httpx.HTTPError as error:
        outcomes.append((type(error).__name__, time.perf_counter() - started))


async def probe(base: str, trainings: list[asyncio.Task[None]], seconds: float) -> list[float]:
    """GET /health every 5 ms until the trainings end or time is up; latencies in ms."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline and not all(t.done() for t in trainings):
            started = time.perf_counter()
            response = await client.get("/health")
            latencies.append((time.perf_counter() - started) * 1e3)
            if response.status_code != 200:
                raise RuntimeError(f"/health answered {response.status_code}")
            await asyncio.sleep(0.005)
    return latencies


async def scenario(base: str, body: bytes, seconds: float) -> tuple[list[float], list[Any]]:
    """4 trainings at once, /health probed meanwhile."""
    outcomes: list[Any] = []
    limits = httpx.Limits(max_connections=TRAININGS)
    async with httpx.AsyncClient(base_url=base, timeout=seconds + 60, limits=limits) as client:
        trainings = [asyncio.create_task(train(client, body, outcomes)) for _ in range(TRAININGS)]
        latencies = await probe(base, trainings, seconds)
        for task in trainings:
            task.cancel()
        await asyncio.gather(*trainings, return_exceptions=True)
    return latencies, outcomes


def main() -> int:
    """Run the scenario, print its figures and a PASS/FAIL line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18311, help="Server port (default 18311).")
    parser.add_argument("--seconds", type=float, default=20, help="Longest probe (default 20).")
    parser.add_argument(
        "--builtin",
        action="store_true",
        help="Train on the built-in dataset (small body, most epochs) instead of a maximal one.",
    )
    args = parser.parse_args()
    settings = Settings()
    body, rows, epochs = (builtin_body if args.builtin else maximal_body)(settings)
    env = {"BACKPROP_MAX_CONCURRENT_TRAININGS": str(TRAININGS)}  # all 4 run at once
    print(
        f"{TRAININGS} trainings of {rows} rows x {epochs} epochs = {rows * epochs} steps each "
        f"(adam), body {len(body) / 2**20:.2f} MiB; server env {env or 'defaults'}"
    )
    base = f"http://{HOST}:{args.port}"
    started = time.monotonic()
    with server(args.port, env, stop_signal=signal.SIGKILL):
        latencies, outcomes = asyncio.run(scenario(base, body, args.seconds))
    elapsed = time.monotonic() - started
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"/health: {len(latencies)} probes, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    finished = ", ".join(f"{status} after {s:.1f} s" for status, s in outcomes) or "none"
    print(f"trainings finished within the window: {finished} (run took {elapsed:.0f} s)")
    return verdict(
        p99 < LIMIT_MS and len(latencies) >= 100,
        "health under trainings",
        f"/health p99 {p99:.1f} ms (limit {LIMIT_MS:.0f} ms) over {len(latencies)} probes",
    )


if __name__ == "__main__":
    raise SystemExit(main())
