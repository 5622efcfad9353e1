"""60 s of mixed load at 64 connections: zero 5xx, zero socket errors, p50/p99, RSS growth < 10%.

Run from the repository's root: ``python -m bench.load_mixed``. Starts its
own uvicorn server on 127.0.0.1 (port 18310 unless --port), drives it with wrk and
bench/mixed.lua, and samples the server's resident memory at the 10th and the 60th second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.harness import (
    HOST,
    describe,
    request_mix,
    rss_bytes,
    server,
    socket_errors,
    start_wrk,
    verdict,
    write_mix,
    wrk_result,
)

MAX_GROWTH = 0.10


def main() -> int:
    """Run the load, print its figures and a PASS/FAIL line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18310, help="Server port (default 18310).")
    parser.add_argument("--seconds", type=int, default=60, help="Load duration (default 60).")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64).")
    args = parser.parse_args()
    early, late = min(10, args.seconds // 6), args.seconds - 0.5

    base = f"http://{HOST}:{args.port}"
    with server(args.port) as proc, tempfile.TemporaryDirectory() as tmp:
        mix = request_mix(base)
        print(f"mix: {sorted({path for path, _ in mix})}, {len(mix)} requests per round")
        wrk = start_wrk(base, write_mix(mix, Path(tmp)), args.seconds, args.connections)
        started = time.monotonic()
        time.sleep(early)
        rss_early = rss_bytes(proc.pid)
        time.sleep(max(0.0, late - (time.monotonic() - started)))
        rss_late = rss_bytes(proc.pid)
        result = wrk_result(wrk, timeout=args.seconds + 90)

    server_errors = sum(n for status, n in result["statuses"].items() if status >= 500)
    busy = result["statuses"].get(503, 0)
    unexpected = sum(n for status, n in result["statuses"].items() if not 200 <= status < 300)
    growth = (rss_late - rss_early) / rss_early
    print(describe(result))
    print(
        f"server RSS at {early} s: {rss_early / 2**20:.1f} MiB, at {late:.1f} s: "
        f"{rss_late / 2**20:.1f} MiB, growth {growth:+.1%}"
    )
    passed = server_errors == 0 and socket_errors(result) == 0 and growth < MAX_GROWTH
    return verdict(
        passed,
        "mixed load",
        f"5xx {server_errors} (of which 503 busy {busy}), other non-2xx "
        f"{unexpected - server_errors}, socket errors "
        f"{socket_errors(result)}, RSS growth {growth:+.1%} (limit {MAX_GROWTH:.0%})",
    )


if __name__ == "__main__":
    raise SystemExit(main())
