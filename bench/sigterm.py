"""SIGTERM during load: the requests in flight finish, none is cut, the server exits cleanly.

Run from the repository's root: ``python -m bench.sigterm``. Starts its own uvicorn server on
127.0.0.1 (port 18312 unless --port) with the production options (graceful shutdown timeout 60 s),
drives it with one long training (5,000 rows x 1,000 epochs; --maximal: the most the limits allow)
and 32 concurrent clients looping over the mixed requests, sends SIGTERM after --seconds, and
counts the outcome of every request by whether its headers were written before or after the
signal. Clients stop sending 1 s after the signal.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.harness import (
    GRACEFUL_SECONDS,
    HOST,
    request_mix,
    start_server,
    stop,
    verdict,
    wait_ready,
)
from service.settings import Settings

CLIENTS = 32
LONG_ROWS = 5_000


@dataclass
class Outcome:
    """One request: when its headers were written (None: never) and when it ended (monotonic)."""

    path: str
    sent: float | None
    ended: float
    result: int | str


async def send(
    client: httpx.AsyncClient, path: str, body: str, outcomes: list[Outcome], label: str = ""
) -> None:
    """Send one request and record its outcome, timing the send from httpcore's trace events."""
    sent: list[float] = []

    async def trace(event: str, info: dict[str, object]) -> None:
        if event == "http11.send_request_headers.started" and not sent:
            sent.append(time.monotonic())

    try:
        response = await client.post(
            path,
            content=body,
            headers={"Content-Type": "application/json"},
            extensions={"trace": trace},
        )
        result: int | str = response.status_code
    except httpx.HTTPError as error:
        result = type(error).__name__
    outcomes.append(Outcome(label or path, sent[0] if sent else None, time.monotonic(), result))


def long_training(maximal: bool) -> tuple[str, str]:
    """A long /train: 5,000 custom rows, adam, 1,000 epochs or (maximal) the most allowed."""
    settings = Settings()
    rng = np.random.default_rng(0)
    rows = LONG_ROWS
    data = {"X": np.round(rng.normal(0, 1, (rows, 5)), 2).tolist(), "y": [0.5] * rows}
    most = min(settings.max_epochs, settings.max_total_steps // rows)
    epochs = most if maximal else min(most, 1_000)
    return "/train", json.dumps({"optimizer": "adam", "epochs": epochs, "data": data})


async def load(
    base: str,
    mix: list[tuple[str, str]],
    long: tuple[str, str],
    proc: subprocess.Popen[bytes],
    seconds: float,
) -> tuple[list[Outcome], float, float]:
    """Load, SIGTERM, wait for exit: (outcomes, signal time, seconds until the exit)."""
    outcomes: list[Outcome] = []
    stop_sending = asyncio.Event()
    requests = itertools.cycle(mix)
    limits = httpx.Limits(max_connections=CLIENTS + 1)
    async with httpx.AsyncClient(base_url=base, timeout=GRACEFUL_SECONDS + 10, limits=limits) as c:

        async def client() -> None:
            while not stop_sending.is_set():
                await send(c, *next(requests), outcomes)

        async def long_one() -> None:
            await send(c, *long, outcomes, label="long /train")

        tasks = [asyncio.create_task(long_one())]
        await asyncio.sleep(0.2)
        tasks += [asyncio.create_task(client()) for _ in range(CLIENTS)]
        await asyncio.sleep(seconds)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        stop_sending.set()
        code = await asyncio.to_thread(proc.wait, GRACEFUL_SECONDS + 10)
        exited = time.monotonic() - signalled
        await asyncio.gather(*tasks)
    # A server may re-raise the signal once it has shut down gracefully: -SIGTERM is clean too.
    if code not in (0, -signal.SIGTERM):
        raise RuntimeError(f"server exited with code {code}")
    return outcomes, signalled, exited


def main() -> int:
    """Run the scenario, print its figures and a PASS/FAIL line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18312, help="Server port (default 18312).")
    parser.add_argument("--seconds", type=float, default=5, help="Load before SIGTERM (5).")
    parser.add_argument(
        "--maximal",
        action="store_true",
        help="Make the long training the largest the limits allow (it may outlast the 60 s grace).",
    )
    args = parser.parse_args()
    base = f"http://{HOST}:{args.port}"
    proc = start_server(args.port, Path(tempfile.gettempdir()) / f"backprop-bench-{args.port}.log")
    try:
        wait_ready(base, proc)
        mix = request_mix(base)
        long = long_training(args.maximal)
        epochs = json.loads(long[1])["epochs"]
        print(
            f"{CLIENTS} clients over {sorted({p for p, _ in mix})}, and one long /train "
            f"({LONG_ROWS} rows x {epochs} epochs, adam) sent first, {args.seconds:.0f} s before "
            "SIGTERM"
        )
        outcomes, signalled, exited = asyncio.run(load(base, mix, long, proc, args.seconds))
    finally:
        stop(proc, signal.SIGKILL)

    before = [o for o in outcomes if o.sent is not None and o.sent < signalled]
    unsent = [o for o in outcomes if o.sent is None]
    after = [o for o in outcomes if o.sent is not None and o.sent >= signalled]
    in_flight = [o for o in before if o.ended >= signalled]
    cut = [o for o in before if not (isinstance(o.result, int) and 200 <= o.result < 300)]
    longest = max((o.ended - signalled for o in in_flight), default=0.0)
    for o in outcomes:
        if o.path == "long /train":
            sent = "never sent" if o.sent is None else f"sent {o.sent - signalled:+.2f} s"
            print(
                f"long /train: {sent}, ended {o.ended - signalled:+.2f} s from SIGTERM: {o.result}"
            )
    print(f"sent before SIGTERM: {len(before)}, results {dict(Counter(o.result for o in before))}")
    print(
        f"in flight at SIGTERM: {len(in_flight)} ({dict(Counter(o.path for o in in_flight))}), "
        f"results {dict(Counter(o.result for o in in_flight))}, the last finished "
        f"{longest:.2f} s after the signal"
    )
    print(
        f"sent after SIGTERM: {len(after)}, results {dict(Counter(o.result for o in after))}; "
        f"never sent (no connection): {len(unsent)}, {dict(Counter(o.result for o in unsent))}"
    )
    for o in cut:
        print(
            f"  cut: {o.path} sent {o.sent - signalled:+.3f} s, ended "
            f"{o.ended - signalled:+.3f} s: {o.result}"
        )
    print(f"server exited cleanly {exited:.2f} s after SIGTERM")
    return verdict(
        not cut and len(in_flight) > 0,
        "SIGTERM during load",
        f"{len(in_flight)} in flight at the signal, {len(cut)} of the {len(before)} requests "
        "sent before it cut",
    )


if __name__ == "__main__":
    raise SystemExit(main())
