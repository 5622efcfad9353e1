"""Start-up with a warm numba cache: process start to GET /ready = 200 (target <= 2 s).

    python -m bench.startup [--port 18130] [--runs 3]

Warms a fresh cache folder with `python -m service.warmup` (BACKPROP_NUMBA_CACHE_DIR), then
starts the production command line (`backprop-service`, bench.harness) several times with that
folder, polls /ready every 10 ms, and stops each server. The baseline is the same command's time to
import the app alone (`python -c "import service.main"`), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

from bench.harness import HOST, ROOT, server_command, stop


def seconds_to_ready(port: int, env: dict[str, str]) -> float:
    """Start a server and time it until /ready answers 200."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        server_command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() - start < 60:
                try:
                    if client.get(f"http://{HOST}:{port}/ready").status_code == 200:
                        return time.perf_counter() - start
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError("the server exited")
                time.sleep(0.01)
        raise RuntimeError("/ready did not answer 200 within 60 s")
    finally:
        stop(proc)


def main() -> None:
    """Warm the cache once, then time several starts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18130)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "BACKPROP_NUMBA_CACHE_DIR": cache}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "service.warmup"], env=env, cwd=ROOT, check=True)
        print(f"warm-up (compiles into an empty cache): {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import service.main"], env=env, cwd=ROOT, check=True)
        imports = time.perf_counter() - start
        runs = [seconds_to_ready(args.port, env) for _ in range(args.runs)]
    print(f"baseline: importing the app alone {imports:.2f} s")
    print(
        f"process start to /ready 200 with the warm cache: {', '.join(f'{r:.2f}' for r in runs)} s;"
        f" median {statistics.median(runs):.2f} s (target <= 2 s)"
    )


if __name__ == "__main__":
    main()
