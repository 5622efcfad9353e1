"""Server CPU per request of the service against the framework's floor, measured in one run.

    python -m bench.middleware [--seconds 5] [--connections 16] [--rounds 3]

Two servers, both under the server the CLI starts (granian with `service.cli.server_options`,
one worker), both up for the whole run (127.0.0.1:18510 and 18511):

- bare: a FastAPI app with `GET /` returning a small JSON object (the floor) and `POST /echo`
  reading its body and answering a small JSON object (the framework's floor for a body);
- service: `backprop-service` itself with API keys configured (`BACKPROP_API_KEYS`), the request
  id, the JSON access line (`BACKPROP_ACCESS_LOG=true`, written to a file as to a log collector)
  and the metrics all on; wrk sends the key on every request.

wrk (1 thread) drives bare `GET /`, bare `POST /echo` (the course point's body), service
`GET /health` and service `POST /forward` (the course point) in turn, for a few rounds, so the
machine's noise falls on all alike. CPU per request = the server's user + system time (its
process tree) over a run divided by the requests served. Prints every run, each round's ratios
to the bare GET (and their median), then the ratios of the best runs to the bare floor (goal:
/forward <= 1.3) and to the bare POST.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from bench.harness import HOST, ROOT, cpu_seconds, server_command, stop

LUA = Path(__file__).with_name("post.lua")
KEY = "bench-key-0123456789"
FORWARD = json.dumps({"w": [0.1] * 9, "row": 0})
BARE_PORT, SERVICE_PORT = 18510, 18511
# The bare app under the CLI's own server options (only the target differs).
BARE_SERVER = """
import sys
from granian.server import Server
from service.cli import server_options
options = server_options("127.0.0.1", int(sys.argv[1]), 1)
options["target"] = "bench.middleware:bare_app"
Server(**options).serve()
"""


def bare_app() -> Any:
    """The floor: FastAPI with a GET of a small JSON object, and a POST that reads its body and
    answers a small JSON object (the framework's own floor for a request with a body)."""
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        size = len(await request.body())
        return Response(b'{"bytes":%d}' % size, media_type="application/json")

    return app


@contextmanager
def running(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[int]:
    """Start a server, wait until GET / or /ready answers 200, yield its pid, stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        path = "/" if port == BARE_PORT else "/ready"
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start (see {log})")
            try:
                if httpx.get(f"http://{HOST}:{port}{path}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield proc.pid
    finally:
        stop(proc)


def drive(pid: int, url: str, method: str, body: str, args: argparse.Namespace) -> float:
    """wrk against one URL; the server's CPU microseconds per request."""
    before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s", str(LUA), url]
        + ["-H", f"Authorization: Bearer {KEY}"],
        env={**os.environ, "WRK_METHOD": method, "WRK_BODY": body},
        capture_output=True,
        text=True,
        timeout=args.seconds + 30,
        check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    result = json.loads(line.removeprefix("WRK_RESULT "))
    if result["non_2xx"] or result["socket_errors"]:
        raise RuntimeError(f"{url}: {result}")
    return float(used * 1e6 / max(result["requests"], 1))


def main() -> None:
    """Run both servers, alternate the three runs; print each run and the best-run ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    service_env = {**env, "BACKPROP_API_KEYS": KEY, "BACKPROP_ACCESS_LOG": "true"}
    logs = Path(tempfile.gettempdir())
    runs: dict[str, list[float]] = {
        "bare GET /": [],
        "bare POST /echo": [],
        "GET /health": [],
        "POST /forward": [],
    }
    with ExitStack() as stack:
        bare = stack.enter_context(
            running(
                [sys.executable, "-c", BARE_SERVER, str(BARE_PORT)],
                BARE_PORT,
                env,
                logs / "backprop-bench-middleware-bare.log",
            )
        )
        service = stack.enter_context(
            running(
                server_command(SERVICE_PORT),
                SERVICE_PORT,
                service_env,
                logs / "backprop-bench-middleware-service.log",  # the access lines land here
            )
        )
        plan = {
            "bare GET /": (bare, f"http://{HOST}:{BARE_PORT}/", "GET", ""),
            "bare POST /echo": (bare, f"http://{HOST}:{BARE_PORT}/echo", "POST", FORWARD),
            "GET /health": (service, f"http://{HOST}:{SERVICE_PORT}/health", "GET", ""),
            "POST /forward": (service, f"http://{HOST}:{SERVICE_PORT}/forward", "POST", FORWARD),
        }
        for pid, url, method, body in plan.values():  # warm-up, not counted
            drive(pid, url, method, body, argparse.Namespace(seconds=1, connections=4))
        for _ in range(args.rounds):
            for name, (pid, url, method, body) in plan.items():
                runs[name].append(drive(pid, url, method, body, args))
    for name, costs in runs.items():
        print(f"{name:16} server CPU per request: " + ", ".join(f"{c:6.1f}" for c in costs))
    # Each round's ratio, from runs a few seconds apart: on a shared machine whose load drifts
    # over the run, their median is steadier than the ratio of the best runs.
    rounds = [
        {name: costs[i] / runs["bare GET /"][i] for name, costs in runs.items()}
        for i in range(args.rounds)
    ]
    for name in list(runs)[1:]:
        ratios = sorted(r[name] for r in rounds)
        print(
            f"{name:16} / bare GET per round: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f" (median {statistics.median(ratios):.2f})"
        )
    best = {name: min(costs) for name, costs in runs.items()}
    floor = best["bare GET /"]
    echo = best["bare POST /echo"]
    print(
        f"best of {args.rounds}: bare GET / {floor:.1f} us, bare POST /echo {echo:.1f} us "
        f"({echo / floor:.2f}x); "
        f"/health {best['GET /health']:.1f} us ({best['GET /health'] / floor:.2f}x); "
        f"/forward {best['POST /forward']:.1f} us ({best['POST /forward'] / floor:.2f}x, "
        f"goal <= 1.30; {best['POST /forward'] / echo:.2f}x the bare POST)"
    )


if __name__ == "__main__":
    main()
