"""Server CPU per request of the ASGI layers around the routes (auth, body and query guards,
request id + access log, metrics): the same app with and without them, measured in one run.

    python bench/middleware.py            # about a minute; 127.0.0.1:18510-18519 only

Each variant runs in its own uvicorn process (uvloop, httptools, uvicorn's access log off, one
worker); wrk drives /health (GET) and /forward (POST, the course point) at 16 connections; CPU is
the server process's user+system time over the run (from /proc), divided by the requests served.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FIRST_PORT = 18510
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
TICK = os.sysconf("SC_CLK_TCK")
# Which of our layers each variant keeps (the framework's own are always there).
VARIANTS = {
    "bare": (),
    "guards": ("BodyGuard", "QueryGuard", "ApiKeyAuth"),
    "guards+metrics": (
        "BodyGuard",
        "QueryGuard",
        "ApiKeyAuth",
        "_Instrumentation",
    ),
    "full": (
        "BodyGuard",
        "QueryGuard",
        "ApiKeyAuth",
        "_Instrumentation",
        "RequestContext",
    ),
}
SERVER = """
import logging, os, uvicorn
from service.main import create_app
from service.logs import configure
keep = set(os.environ["KEEP"].split(",")) - {""}
ours = {"BodyGuard", "QueryGuard", "ApiKeyAuth", "_Instrumentation",
        "RequestContext"}
app = create_app()
app.user_middleware = [m for m in app.user_middleware
                       if m.cls.__name__ not in ours or m.cls.__name__ in keep]
# The access line goes to a file, as it would to a log collector, not to the terminal.
logging.getLogger("service").handlers[0].stream = open(os.devnull, "w")
uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=False,
            loop="uvloop", http="httptools", log_level="warning")
"""
POST = """
wrk.method = "POST"
wrk.body = '{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}'
wrk.headers["Content-Type"] = "application/json"
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_ready(port: int) -> None:
    """Poll /health until the server answers (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def drive(port: int, path: str, script: str | None, pid: int) -> tuple[float, int]:
    """(server CPU µs per request, requests) for SECONDS of wrk -c16 on one path."""
    command = ["wrk", "-t1", "-c16", f"-d{SECONDS}s", f"http://{HOST}:{port}{path}"]
    if script:
        command[1:1] = ["-s", script]
    subprocess.run(command[:-1] + [command[-1]], capture_output=True, check=True, timeout=60)
    before = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    used = cpu_seconds(pid) - before
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    non_2xx = [line for line in out.splitlines() if "Non-2xx" in line]
    if non_2xx:
        raise RuntimeError(f"{path}: {non_2xx[0]}")
    return used / requests * 1e6, requests


def main() -> None:
    """Measure each variant; print CPU per request and the ratio to the bare app."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(POST)
    results: dict[str, dict[str, float]] = {}
    for offset, (name, keep) in enumerate(VARIANTS.items()):
        port = FIRST_PORT + offset
        env = {**os.environ, "KEEP": ",".join(keep), "PORT": str(port), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-c", SERVER], env=env, cwd=ROOT)
        try:
            wait_ready(port)
            results[name] = {
                "health": drive(port, "/health", None, server.pid)[0],
                "forward": drive(port, "/forward", lua.name, server.pid)[0],
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    bare = results["bare"]
    print(f"{'variant':16} {'/health µs':>11} {'ratio':>6} {'/forward µs':>12} {'ratio':>6}")
    for name, cost in results.items():
        print(
            f"{name:16} {cost['health']:11.1f} {cost['health'] / bare['health']:6.2f} "
            f"{cost['forward']:12.1f} {cost['forward'] / bare['forward']:6.2f}"
        )
    full = results["full"]
    print(
        f"layers add {full['health'] - bare['health']:.1f} µs to /health and "
        f"{full['forward'] - bare['forward']:.1f} µs to /forward; "
        f"/forward / /health: bare {bare['forward'] / bare['health']:.2f}, "
        f"full {full['forward'] / full['health']:.2f}"
    )
    os.unlink(lua.name)


if __name__ == "__main__":
    main()
