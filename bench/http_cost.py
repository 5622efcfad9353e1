"""Server CPU per request of POST /forward vs GET /health on one server (target <= 1.3x).

    python -m bench.http_cost [--port 18110] [--seconds 5] [--connections 16] [--rounds 2]

Starts the production command line (bench.harness) on 127.0.0.1, drives each endpoint with wrk
(1 thread) for a bounded time, alternating them for a few rounds, and reads the server
process tree's CPU time (utime + stime from /proc/<pid>/stat) before and after each run: CPU per
request = delta / requests. Prints rps, p50, p99 and the ratio to /health of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.harness import HOST, cpu_seconds, server

LUA = Path(__file__).with_name("post.lua")
FORWARD = json.dumps({"w": [0.1] * 9, "row": 0})


def drive(
    pid: int, url: str, method: str, body: str, seconds: int, connections: int
) -> dict[str, Any]:
    """Run wrk against one URL; its figures plus the server's CPU microseconds per request."""
    before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        env={**os.environ, "WRK_METHOD": method, "WRK_BODY": body},
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    after = cpu_seconds(pid)
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
    result["cpu_us"] = (after - before) * 1e6 / max(result["requests"], 1)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> None:
    """Alternate /health and /forward; print each run and the CPU-per-request ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18110)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = f"http://{HOST}:{args.port}"
    runs: dict[str, list[dict[str, Any]]] = {"GET /health": [], "POST /forward": []}
    with server(args.port) as proc:
        for _ in range(args.rounds):
            runs["GET /health"].append(
                drive(proc.pid, f"{base}/health", "GET", "", args.seconds, args.connections)
            )
            runs["POST /forward"].append(
                drive(proc.pid, f"{base}/forward", "POST", FORWARD, args.seconds, args.connections)
            )
    best = {name: min(r["cpu_us"] for r in results) for name, results in runs.items()}
    for name, results in runs.items():
        for r in results:
            print(
                f"{name:14} {r['rps']:7.0f} req/s  p50 {r['p50_us'] / 1e3:5.2f} ms  "
                f"p99 {r['p99_us'] / 1e3:5.2f} ms  server CPU {r['cpu_us']:6.1f} us/request  "
                f"non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}"
            )
    ratio = best["POST /forward"] / best["GET /health"]
    print(
        f"server CPU per request, best of {args.rounds}: /forward {best['POST /forward']:.1f} us, "
        f"/health {best['GET /health']:.1f} us, ratio {ratio:.2f} (target <= 1.3)"
    )


if __name__ == "__main__":
    main()
