"""A client that disconnects stops its work and frees its slot: against a real server (granian).

The server is started here with one training slot and no waiting line, so while the slot is held
a new training gets 503: being admitted right after the drop shows the slot was freed, and
backprop_trainings_total{status="cancelled"} counts every run the dropped request had not
finished (had they finished instead, they would count as completed). The same holds for graphs
other than the course's (an inline graph, the cs231n_neuron preset), trained on their own loops.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from api_tests.support.sse import events

RUNS = 9  # x 10,000 epochs x 506 rows: 45.5 M steps, seconds of work on the one slot
STREAM = {"Accept": "text/event-stream"}


def ephemeral_port() -> int:
    """A port the kernel just handed out as free (not a scanned range another process may scan)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`backprop-service` on loopback with one training slot and no queue."""
    port = ephemeral_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROP_")}
    env |= {"BACKPROP_MAX_CONCURRENT_TRAININGS": "1", "BACKPROP_MAX_QUEUED_TRAININGS": "0"}
    command = [sys.executable, "-m", "service.cli", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # start-up compiles or loads the training kernel
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        time.sleep(0.5)  # had the port been taken, the server would have exited by now
        if process.poll() is not None:  # not ours that answered
            pytest.fail(f"backprop-service did not become ready on {url} ({process.poll()})")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=90)


def cancelled(url: str, optimizer: str) -> float:
    """backprop_trainings_total{optimizer, status="cancelled"} as the server reports it."""
    text = httpx.get(f"{url}/metrics").text
    pattern = rf'backprop_trainings_total\{{optimizer="{optimizer}",status="cancelled"\}} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def train_verdicts(url: str) -> float:
    """Graded training submissions, pass and fail, as the server counts them."""
    text = httpx.get(f"{url}/metrics").text
    pattern = r'backprop_grade_verdicts_total\{task="train",verdict="\w+"\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


def long_batch(optimizer: str) -> dict[str, object]:
    return {"configs": [{"optimizer": optimizer, "epochs": 10_000, "seed": i} for i in range(RUNS)]}


def admitted_soon(url: str) -> int:
    """The status of a short /train, retried while the server notices the drop (<= 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        status = httpx.post(f"{url}/train", json={"epochs": 1}).status_code
        if status != 503 or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def busy(url: str) -> None:
    """Wait until the slot is taken: a short training is refused with 503."""
    deadline = time.monotonic() + 30
    while httpx.post(f"{url}/train", json={"epochs": 1}).status_code != 503:
        assert time.monotonic() < deadline, "the long training never took the slot"
        time.sleep(0.02)


def test_dropping_a_plain_request_frees_its_slot_and_counts_it_cancelled(server: str) -> None:
    before = cancelled(server, "rmsprop")
    body = json.dumps(long_batch("rmsprop")).encode()
    head = "POST /train/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1]))) as raw:
        raw.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        busy(server)
    assert admitted_soon(server) == 200
    assert cancelled(server, "rmsprop") == before + RUNS


def test_dropping_a_stream_frees_its_slot_and_counts_it_cancelled(server: str) -> None:
    before = cancelled(server, "adagrad")
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST", f"{server}/train/batch", json=long_batch("adagrad"), headers=STREAM
        ) as response,
    ):
        assert response.status_code == 200
        stream = events(response.iter_lines())  # kept: closing it would close the response
        first = next(stream)
        assert first.event == "progress"
        assert first.json()["runs"] == RUNS
        again = httpx.post(f"{server}/train", json={"epochs": 1})
        assert again.status_code == 503, (first, again.text)
    assert admitted_soon(server) == 200
    assert cancelled(server, "adagrad") == before + RUNS


def test_dropping_a_grade_batch_stops_its_trainings(server: str) -> None:
    before = cancelled(server, "adamw")
    assert train_verdicts(server) == 0
    case = {"optimizer": "adamw", "epochs": 10_000}
    items = [
        {"task": "train", "case": {**case, "seed": i}, "submission": {"loss_history": [1.0]}}
        for i in range(20)
    ]
    body = json.dumps({"items": items}).encode()
    head = "POST /grade/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1]))) as raw:
        raw.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        busy(server)
    assert admitted_soon(server) == 200
    graded = train_verdicts(server)
    assert cancelled(server, "adamw") > before  # the training under way (the case, or its
    # wrong versions if the case was done already)
    time.sleep(2)  # time to grade another item or two (each trains ~1 s), had grading gone on
    assert train_verdicts(server) == graded


# Another graph than the course's: its inputs are dataset columns, so it trains on the built-in
# data (506 rows) as the course does, on its own generated loops.
INLINE = {
    "inputs": ["f4", "f2", "f1"],
    "weights": ["a", "b", "c", "d"],
    "nodes": {"_h": "tanh(a*f4 + b*f2)", "y_pred": "_h*c + sigmoid(d*f1)"},
}
NEURON_DATA = {
    "X": [[((i * 7 + j * 13) % 41) / 10 - 2 for j in range(2)] for i in range(2000)],
    "y": [float(i % 2) for i in range(2000)],
}


def _compiled_first(url: str, body: dict[str, object]) -> None:
    """Train once briefly, so that the graph's loop is compiled (seconds) before the long run."""
    warm = httpx.post(f"{url}/train", json={**body, "epochs": 1}, timeout=300)
    assert warm.status_code == 200, warm.text


def test_dropping_a_plain_request_training_an_inline_graph_frees_its_slot(server: str) -> None:
    one = {"graph": INLINE, "optimizer": "momentum"}
    _compiled_first(server, one)
    before = cancelled(server, "momentum")
    configs = [{**one, "epochs": 10_000, "seed": i} for i in range(RUNS)]
    body = json.dumps({"configs": configs}).encode()
    head = "POST /train/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1]))) as raw:
        raw.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        busy(server)
    assert admitted_soon(server) == 200
    assert cancelled(server, "momentum") == before + RUNS


def test_dropping_a_stream_training_the_cs231n_preset_frees_its_slot(server: str) -> None:
    one = {"graph": "cs231n_neuron", "optimizer": "sgd", "data": NEURON_DATA}
    _compiled_first(server, one)
    before = cancelled(server, "sgd")
    body = {**one, "epochs": 10_000}  # 20 M steps: seconds of work
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", f"{server}/train", json=body, headers=STREAM) as response,
    ):
        assert response.status_code == 200
        stream = events(response.iter_lines())
        first = next(stream)
        assert first.event == "progress"
        assert first.json()["epoch"] < 10_000
        again = httpx.post(f"{server}/train", json={"epochs": 1})
        assert again.status_code == 503, (first, again.text)
    assert admitted_soon(server) == 200
    assert cancelled(server, "sgd") == before + 1
