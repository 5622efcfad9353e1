"""Bad clients against the server `backprop-service` starts, with no proxy in front.

One real server process on loopback (`python -m service.cli`, the Dockerfile's command) with
BACKPROP_REQUEST_TIMEOUT_S=2 so the module takes seconds, not minutes. Every socket has a
deadline; the only timing checks are generous upper bounds (a connection must be gone long
before a client would give up), never how fast something was. Through a proxy (API_BASE_URL)
the proxy answers first, so the module is skipped there: it tests the server's own defences.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 2
GIVE_UP_S = TIMEOUT_S + 20  # generous: a connection still there by then was not cut off
KIB = 1024

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("API_BASE_URL")),
    reason="tests the server's own limits; behind API_BASE_URL a proxy answers first",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """A `backprop-service` process on a free loopback port, stopped after the module."""
    number = _free_port()
    env = {**os.environ, "BACKPROP_REQUEST_TIMEOUT_S": str(TIMEOUT_S)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "--host", "127.0.0.1", "--port", str(number)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # start-up compiles or loads the training kernel
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{number}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        else:
            pytest.fail(f"backprop-service did not get ready (exit code {server.poll()})")
        yield number
    finally:
        server.terminate()
        try:
            server.wait(timeout=70)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def connect(port: int) -> socket.socket:
    """A raw connection whose every read gives up after GIVE_UP_S."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP_S)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection (TimeoutError if it never does)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def send_header(sock: socket.socket, size: int) -> int:
    """GET /health (Connection: close) with `size` bytes of header lines; stop at a refusal."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n")
    line = b"X-Pad: " + b"a" * (8 * KIB - 9) + b"\r\n"
    sent = 0
    try:
        while sent + len(line) <= size:
            sock.sendall(line)
            sent += len(line)
        sock.sendall(b"X-End: " + b"a" * max(0, size - sent - 9) + b"\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def status(data: bytes) -> int:
    """The status code of an HTTP/1.1 response."""
    assert data.startswith(b"HTTP/1.1 "), data[:80]
    return int(data[9:12])


def test_header_over_64_kib_is_refused(port: int) -> None:
    with connect(port) as sock:
        send_header(sock, 100 * KIB)
        data = read_until_closed(sock)
    assert status(data) == 431


def test_header_within_64_kib_is_served(port: int) -> None:
    with connect(port) as sock:
        send_header(sock, 56 * KIB)
        data = read_until_closed(sock)
    assert status(data) == 200
    assert data.endswith(b'{"status":"ok"}')


def test_64_mb_header_is_refused_before_it_is_read(port: int) -> None:
    with connect(port) as sock:
        sent = send_header(sock, 64 * KIB * KIB)
        data = read_until_closed(sock)
    assert status(data) == 431
    # The server stopped reading at the cap: what got through is what socket buffers hold.
    assert sent < 16 * KIB * KIB


def test_header_sent_a_byte_at_a_time_is_cut_off(port: int) -> None:
    started = time.monotonic()
    closed = False
    with connect(port) as sock:
        sock.settimeout(0.25)
        for byte in b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 400:
            try:
                sock.send(bytes([byte]))
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if time.monotonic() - started > GIVE_UP_S:
                break
    assert closed, f"a header trickling in was still held after {GIVE_UP_S} s"


def test_idle_connection_is_closed(port: int) -> None:
    with connect(port) as sock:
        assert read_until_closed(sock) == b""


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "byte-at-a-time"])
def test_body_short_of_its_length_gets_408_problem(port: int, trickle: bool) -> None:
    with connect(port) as sock:
        sock.sendall(
            b"POST /forward HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"w":'
        )
        if trickle:
            sock.settimeout(0.25)
            data = b""
            for _ in range(int(GIVE_UP_S / 0.25)):
                try:
                    sock.send(b" ")
                    data = sock.recv(65536)
                    break
                except TimeoutError:
                    continue
            sock.settimeout(GIVE_UP_S)
            data += read_until_closed(sock)
        else:
            data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert status(data) == 408
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["type"] == "/problems/request-timeout"
    assert problem["status"] == 408
    assert "BACKPROP_REQUEST_TIMEOUT_S" in problem["detail"]


def test_complete_slow_body_is_served(port: int) -> None:
    """A body that arrives in pieces, all within the timeout, is answered as usual."""
    body = json.dumps({"w": [0.1] * 9, "row": 0}).encode()
    with connect(port) as sock:
        sock.sendall(
            b"POST /forward HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        for start in range(0, len(body), 16):
            sock.sendall(body[start : start + 16])
            time.sleep(0.02)
        data = read_until_closed(sock)
    assert status(data) == 200


def test_slow_clients_do_not_stall_a_fast_one(port: int) -> None:
    """300 connections hold unfinished headers while 40 fast requests are answered."""
    slow = [connect(port) for _ in range(300)]
    try:
        for sock in slow:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: a")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=GIVE_UP_S) as fast:
            answers = [fast.get("/health").status_code for _ in range(40)]
        # Had a slot been needed first, the fast client would have waited for them to be cut.
        for sock in slow:
            sock.setblocking(False)
        still_held = 0
        for sock in slow:
            try:
                still_held += sock.recv(1) != b""
            except BlockingIOError:
                still_held += 1
            except ConnectionResetError:
                pass
    finally:
        for sock in slow:
            sock.close()
    assert answers == [200] * 40
    assert still_held > 0, "the slow connections were cut before the fast client was served"
