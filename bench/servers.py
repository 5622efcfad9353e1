"""Server CPU per request: the production server (granian, `backprop-service`) vs uvicorn.

    python -m bench.servers [--seconds 5] [--connections 16] [--rounds 2]

Starts both on 127.0.0.1 (ports 18142 and 18143; uvicorn with the command line the service ran
with before, bench.harness.uvicorn_command) and keeps both up for the whole run. wrk (1 thread)
drives GET /health and POST /forward on each in turn, for a few rounds, alternating servers so
that the machine's noise falls on both alike. CPU per request = the server's user + system time
(its whole process tree: granian's worker is a child of its main process) over the run divided
by the requests served. Prints every run, then the best of each and granian / uvicorn ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.harness import HOST, cpu_seconds, server, server_command, uvicorn_command

LUA = Path(__file__).with_name("post.lua")
FORWARD = json.dumps({"w": [0.1] * 9, "row": 0})
ENDPOINTS = {"GET /health": ("GET", "/health", ""), "POST /forward": ("POST", "/forward", FORWARD)}


def drive(pid: int, url: str, method: str, body: str, args: argparse.Namespace) -> dict[str, Any]:
    """wrk against one URL: its figures plus the server's CPU microseconds per request."""
    before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
        + ["-s", str(LUA), url],
        env={**os.environ, "WRK_METHOD": method, "WRK_BODY": body},
        capture_output=True,
        text=True,
        timeout=args.seconds + 30,
        check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
    result["cpu_us"] = used * 1e6 / max(result["requests"], 1)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> None:
    """Alternate servers and endpoints; print each run and the ratios of the best runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = {"BACKPROP_ACCESS_LOG": "true"}  # the app's own log line stays on, as in production
    commands = {
        "granian": (server_command(18142), 18142),
        "uvicorn": (uvicorn_command(18143), 18143),
    }
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        procs = {
            name: (stack.enter_context(server(port, env=env, command=command)), port)
            for name, (command, port) in commands.items()
        }
        for _ in range(args.rounds):
            for endpoint, (method, path, body) in ENDPOINTS.items():
                for name, (proc, port) in procs.items():
                    result = drive(proc.pid, f"http://{HOST}:{port}{path}", method, body, args)
                    runs.setdefault((name, endpoint), []).append(result)
    for (name, endpoint), results in runs.items():
        for r in results:
            print(
                f"{name:8} {endpoint:14} {r['rps']:7.0f} req/s  p50 {r['p50_us'] / 1e3:5.2f} ms  "
                f"p99 {r['p99_us'] / 1e3:5.2f} ms  server CPU {r['cpu_us']:6.1f} us/request  "
                f"non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}"
            )
    for endpoint in ENDPOINTS:
        best = {name: min(r["cpu_us"] for r in runs[(name, endpoint)]) for name in commands}
        print(
            f"{endpoint}: server CPU per request, best of {args.rounds}: granian "
            f"{best['granian']:.1f} us, uvicorn {best['uvicorn']:.1f} us, "
            f"granian / uvicorn {best['granian'] / best['uvicorn']:.2f}"
        )


if __name__ == "__main__":
    main()
