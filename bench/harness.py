"""Shared pieces of the load and fault scripts: servers on loopback, the request mix, wrk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
LUA = Path(__file__).with_name("mixed.lua")
GRACEFUL_SECONDS = 60  # as service.cli.GRACEFUL_SHUTDOWN_S
TICK = os.sysconf("SC_CLK_TCK")

# The mixed load: each endpoint's OpenAPI example, repeated by weight (cheap calls dominate a
# deadline rush; a default training costs hundreds of times a forward pass).
MIX_WEIGHTS = {"/forward": 8, "/backward": 8, "/gradcheck": 4, "/grade": 4, "/train": 1}


def server_command(port: int) -> list[str]:
    """The production command line (`backprop-service`, as the Dockerfile runs it) on a port."""
    return [sys.executable, "-m", "service.cli", "--host", HOST, "--port", str(port)]


def uvicorn_command(port: int, graceful: int = GRACEFUL_SECONDS) -> list[str]:
    """The uvicorn command line the service ran with before granian: the baseline of bench."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "service.main:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "none",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        str(graceful),
    ]


def start_server(
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start one server of the service (the production command unless `command`) from ROOT."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command or server_command(port),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(base: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90) -> None:
    """Poll GET /ready until it answers 200; fail if the server died or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {base} exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base}/ready did not answer 200 within {timeout:.0f} s")


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 40) -> None:
    """Signal a process and wait for it; SIGKILL it when it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def server(
    port: int,
    env: Mapping[str, str] | None = None,
    stop_signal: int = signal.SIGTERM,
    command: list[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """One ready server on 127.0.0.1:port (production command unless `command`), then stopped."""
    log = Path(tempfile.gettempdir()) / f"backprop-bench-{port}.log"
    proc = start_server(port, log, env, command)
    try:
        wait_ready(f"http://{HOST}:{port}", proc)
        yield proc
    finally:
        stop(proc, stop_signal)


def descendants(pid: int) -> list[int]:
    """pid and every process below it (granian's workers are children of its main process)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found = [pid]
    for candidate in found:
        found += [child for child, parent in parents.items() if parent == candidate]
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants."""
    total = 0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def rss_bytes(pid: int) -> int:
    """Resident memory (VmRSS) of a process and its live descendants, in bytes."""
    total = 0
    for each in descendants(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def examples(spec: dict[str, Any], path: str) -> list[Any]:
    """The examples of a POST operation's JSON request body (each variant's, for a oneOf)."""
    operation = spec.get("paths", {}).get(path, {}).get("post")
    if operation is None:
        return []
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in media:
        return [media["example"]]
    if media.get("examples"):
        return [example.get("value") for example in media["examples"].values()]
    return _schema_examples(spec, media.get("schema", {}))


def _schema_examples(spec: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    schema = _resolve(spec, schema)
    if schema.get("examples"):
        return list(schema["examples"][:1])
    if "example" in schema:
        return [schema["example"]]
    variants = schema.get("oneOf") or schema.get("anyOf") or []
    return [e for variant in variants for e in _schema_examples(spec, variant)]


def request_mix(base: str, weights: Mapping[str, int] = MIX_WEIGHTS) -> list[tuple[str, str]]:
    """(path, JSON body) pairs of the endpoints that exist now, each repeated by its weight."""
    spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
    mix: list[tuple[str, str]] = []
    for path, weight in weights.items():
        bodies = [json.dumps(body, separators=(",", ":")) for body in examples(spec, path)]
        if not bodies:
            print(f"  (skipped {path}: no such POST operation with an example yet)")
        mix += [(path, bodies[i % len(bodies)]) for i in range(weight)] if bodies else []
    return mix


def write_mix(mix: list[tuple[str, str]], directory: Path) -> Path:
    """The mix as wrk's mixed.lua reads it: PATH<TAB>BODY per line."""
    file = directory / "mix.tsv"
    file.write_text("".join(f"{path}\t{body}\n" for path, body in mix))
    return file


def start_wrk(
    url: str, mix_file: Path, seconds: int, connections: int, threads: int = 2
) -> subprocess.Popen[str]:
    """Start wrk with mixed.lua; read its result with wrk_result()."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "60s",
        "-s",
        str(LUA),
        url,
    ]
    env = {**os.environ, "WRK_MIX": str(mix_file)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def wrk_result(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """Wait for wrk and parse the WRK_RESULT line mixed.lua printed."""
    out, _ = proc.communicate(timeout=timeout)
    for line in out.splitlines():
        if line.startswith("WRK_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
            return result
    raise RuntimeError(f"wrk printed no result:\n{out}")


def socket_errors(result: Mapping[str, Any]) -> int:
    """wrk's connect + read + write + timeout errors."""
    return int(sum(result[k] for k in ("connect", "read", "write", "timeout")))


def describe(result: Mapping[str, Any]) -> str:
    """wrk's figures in one line."""
    seconds = result["duration_us"] / 1e6
    return (
        f"requests {result['requests']} in {seconds:.1f} s ({result['requests'] / seconds:.0f}/s), "
        f"statuses {dict(sorted(result['statuses'].items()))}, socket errors "
        f"connect {result['connect']} read {result['read']} write {result['write']} "
        f"timeout {result['timeout']}; latency p50 {result['p50_us'] / 1e3:.1f} ms, "
        f"p90 {result['p90_us'] / 1e3:.1f} ms, p99 {result['p99_us'] / 1e3:.1f} ms, "
        f"max {result['max_us'] / 1e3:.1f} ms"
    )


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def verdict(passed: bool, name: str, why: str) -> int:
    """Print the PASS/FAIL line; return the process exit code."""
    print(f"{'PASS' if passed else 'FAIL'}: {name}: {why}")
    return 0 if passed else 1
