"""Bad clients without a proxy: the production server (`backprop-service`) vs the old uvicorn.

    python -m bench.slow_clients [--slow 2000] [--timeout 5] [--servers granian,uvicorn]

Starts each server on 127.0.0.1 (ports 18140 and 18141) with BACKPROP_REQUEST_TIMEOUT_S set to
--timeout (5 s instead of the default 30, so the run stays short) and measures, one at a time:

- a 100 KiB header and a 64 MB header (sent until the server refuses, 10 s at most): the answer;
- one client sending its header a byte a second, and one whose body stops short of its
  Content-Length: what it gets and when (each given --timeout + 10 s at most);
- --slow connections sending a header a byte a second while a fast client sends GET /health and
  POST /forward one after the other on its own keep-alive connection: its latency (p50, p99,
  max) against the same client on the idle server just before, how many slow connections are
  still held after --hold seconds, and when they are cut off; then --slow connections that each
  left 60 KiB of an unfinished header: the server's extra RSS per connection (the worst case
  a connection can cost within the 64 KiB header cap, which sizes BACKPROP_MAX_CONNECTIONS).

Every wait is bounded; the script stops its servers and ends with a PASS/FAIL line for the
production server (the baseline's figures are printed only to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import threading
import time
from typing import Any

import httpx

from bench.harness import (
    HOST,
    percentile,
    rss_bytes,
    server,
    server_command,
    uvicorn_command,
    verdict,
)

FORWARD = json.dumps({"w": [0.1] * 9, "row": 0})
HEADER_FILL = 60 * 1024
REQUEST_LINE = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: "


def _recv_all(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or `seconds` pass), and when it closed."""
    start = time.monotonic()
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data, float("inf")
    except ConnectionResetError:
        pass
    return data, time.monotonic() - start


def status_of(data: bytes) -> str:
    """'431' from an HTTP status line, or what happened instead."""
    if data.startswith(b"HTTP/1.1 "):
        return data[9:12].decode()
    return "closed, no answer" if not data else f"{data[:20]!r}"


def big_header(port: int, size: int) -> str:
    """Send a header of `size` bytes (at most 10 s of sending); the server's answer."""
    sock = socket.create_connection((HOST, port))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\n")
    sent, line, start = 0, b"X-Pad: " + b"a" * 8185 + b"\r\n", time.monotonic()
    try:
        while sent < size and time.monotonic() - start < 10:
            sock.sendall(line)
            sent += len(line)
        if sent >= size:
            sock.sendall(b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, _ = _recv_all(sock, 5)
    sock.close()
    took = time.monotonic() - start
    return f"{status_of(data)} after {sent / 1024:.0f} KiB sent, {took:.1f} s"


def byte_a_second(port: int, limit: float) -> str:
    """A header sent a byte a second: when the server cuts the connection (at most `limit` s)."""
    sock = socket.create_connection((HOST, port))
    sock.settimeout(1)
    start = time.monotonic()
    message = REQUEST_LINE + b"a" * 1000
    for byte in message:
        if time.monotonic() - start > limit:
            sock.close()
            return f"still held after {limit:.0f} s"
        try:
            sock.send(bytes([byte]))
            if sock.recv(65536) == b"":
                break
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.close()
    return f"cut off after {time.monotonic() - start:.1f} s"


def short_body(port: int, limit: float) -> str:
    """A body 5 bytes long out of a Content-Length of 100: the answer, and when."""
    sock = socket.create_connection((HOST, port))
    sock.sendall(
        b"POST /forward HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"w":'
    )
    data, took = _recv_all(sock, limit)
    sock.close()
    if took == float("inf"):
        return f"no answer within {limit:.0f} s"
    body = data.partition(b"\r\n\r\n")[2]
    problem = json.loads(body)["type"] if body.startswith(b"{") else ""
    return f"{status_of(data)} {problem} after {took:.1f} s, connection closed"


class FastClient(threading.Thread):
    """GET /health and POST /forward in turn on one keep-alive connection until stopped."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.latencies: list[float] = []
        self.failures = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.halt.is_set():
                for method, path, body in (("GET", "/health", None), ("POST", "/forward", FORWARD)):
                    start = time.perf_counter()
                    try:
                        answer = client.request(
                            method, path, content=body, headers={"Content-Type": "application/json"}
                        )
                        ok = answer.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.latencies.append(time.perf_counter() - start)
                    self.failures += not ok


def measure_fast(base: str, seconds: float) -> FastClient:
    """The fast client alone for `seconds`."""
    fast = FastClient(base)
    fast.start()
    time.sleep(seconds)
    fast.halt.set()
    fast.join(35)
    return fast


def latency(fast: FastClient) -> str:
    """p50 / p99 / max of a fast client's requests, in ms."""
    if not fast.latencies:
        return "no request finished"
    ms = [s * 1000 for s in fast.latencies]
    return (
        f"{len(ms)} requests, p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms, {fast.failures} failed"
    )


async def _open(port: int, count: int, prefix: bytes) -> list[tuple[Any, Any]]:
    """`count` connections that each sent `prefix` (in batches, so the backlog never overflows)."""
    opened: list[tuple[Any, Any]] = []
    for first in range(0, count, 200):
        batch = await asyncio.gather(
            *(asyncio.open_connection(HOST, port) for _ in range(min(200, count - first))),
            return_exceptions=True,
        )
        for pair in batch:
            if isinstance(pair, BaseException):
                continue
            pair[1].write(prefix)
            opened.append(pair)
        await asyncio.sleep(0)
    return opened


async def slow_crowd(port: int, count: int, hold: float, limit: float) -> dict[str, Any]:
    """Open `count` byte-a-second headers; held after `hold` s; cut-off times (at most `limit`)."""
    start = time.monotonic()
    conns = await _open(port, count, REQUEST_LINE)
    opened = len(conns)
    closed_at: dict[int, float] = {}

    async def watch(index: int, reader: Any) -> None:
        try:
            await reader.read()
        except OSError:
            pass
        closed_at[index] = time.monotonic() - start

    watchers = [asyncio.create_task(watch(i, r)) for i, (r, _) in enumerate(conns)]
    held_after_hold = None
    while time.monotonic() - start < limit and len(closed_at) < opened:
        for index, (_, writer) in enumerate(conns):
            if index not in closed_at and not writer.is_closing():
                try:
                    writer.write(b"a")
                except OSError:
                    pass
        await asyncio.sleep(1)
        if held_after_hold is None and time.monotonic() - start >= hold:
            held_after_hold = opened - len(closed_at)
    for _, writer in conns:
        writer.close()
    for task in watchers:
        task.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    cut = sorted(closed_at.values())
    return {
        "opened": opened,
        "held": held_after_hold if held_after_hold is not None else opened - len(cut),
        "cut": len(cut),
        "cut_p50": percentile(cut, 50) if cut else None,
        "cut_max": cut[-1] if cut else None,
    }


async def filled_rss(pid: int, port: int, count: int) -> tuple[int, float]:
    """Connections that each sent 60 KiB of an unfinished header: (held, extra RSS per one)."""
    before = rss_bytes(pid)
    conns = await _open(port, count, REQUEST_LINE + b"a" * HEADER_FILL)
    await asyncio.sleep(1.5)
    held = sum(not writer.is_closing() and not reader.at_eof() for reader, writer in conns)
    grown = rss_bytes(pid) - before
    for _, writer in conns:
        writer.close()
    return held, grown / max(held, 1)


def run_one(name: str, command: list[str], port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement against one server."""
    env = {"BACKPROP_REQUEST_TIMEOUT_S": str(args.timeout), "BACKPROP_ACCESS_LOG": "false"}
    limit = args.timeout + 10
    with server(port, env=env, command=command) as proc:
        base = f"http://{HOST}:{port}"
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        figures: dict[str, Any] = {
            "100 KiB header": big_header(port, 100 * 1024),
            "64 MB header": big_header(port, 64 * 1024 * 1024),
            "byte-a-second header": byte_a_second(port, limit),
            "short body": short_body(port, limit),
        }
        for what, value in figures.items():
            print(f"  {what:22} {value}", flush=True)
        idle = measure_fast(base, args.hold)
        print(f"  fast client, idle server:      {latency(idle)}", flush=True)
        fast = FastClient(base)
        fast.start()
        crowd = asyncio.run(slow_crowd(port, args.slow, args.hold, limit))
        fast.halt.set()
        fast.join(35)
        print(
            f"  {crowd['opened']} slow headers: {crowd['held']} held after {args.hold:.0f} s; "
            f"{crowd['cut']} cut off (median {crowd['cut_p50'] or 0:.1f} s, "
            f"last {crowd['cut_max'] or 0:.1f} s after opening)",
            flush=True,
        )
        print(f"  fast client meanwhile:         {latency(fast)}", flush=True)
        held, per_connection = asyncio.run(filled_rss(proc.pid, port, args.slow))
        print(
            f"  {held} connections holding 60 KiB of unfinished header: "
            f"+{per_connection / 1024:.0f} KiB RSS each",
            flush=True,
        )
        figures.update(crowd=crowd, idle=idle, fast=fast, per_connection=per_connection)
        return figures


def main() -> int:
    """Measure each server; PASS when the production one refused, cut off and kept up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=2000, help="Slow connections (2000).")
    parser.add_argument("--timeout", type=float, default=5, help="BACKPROP_REQUEST_TIMEOUT_S.")
    parser.add_argument("--hold", type=float, default=4, help="Seconds of fast client (4).")
    parser.add_argument("--servers", default="granian,uvicorn", help="Which to run, in order.")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    commands = {
        "granian": (server_command(18140), 18140),
        "uvicorn": (uvicorn_command(18141), 18141),
    }
    results = {}
    for name in args.servers.split(","):
        command, port = commands[name]
        results[name] = run_one(name, command, port, args)
    if "granian" not in results:
        return 0
    ours = results["granian"]
    idle_p99 = percentile(ours["idle"].latencies, 99) if ours["idle"].latencies else 0
    fast_p99 = percentile(ours["fast"].latencies, 99) if ours["fast"].latencies else float("inf")
    passed = (
        ours["100 KiB header"].startswith("431")
        and ours["64 MB header"].startswith("431")
        and ours["byte-a-second header"].startswith("cut off")
        and ours["short body"].startswith("408 /problems/request-timeout")
        and ours["crowd"]["cut"] == ours["crowd"]["opened"]
        and ours["fast"].failures == 0
        and fast_p99 < max(50 / 1000, 5 * idle_p99)
    )
    return verdict(
        passed,
        "bad clients without a proxy",
        "oversized headers 431, slow headers cut off, short body 408, fast client's p99 "
        f"{fast_p99 * 1000:.1f} ms beside {ours['crowd']['opened']} slow connections "
        f"(idle {idle_p99 * 1000:.1f} ms)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
