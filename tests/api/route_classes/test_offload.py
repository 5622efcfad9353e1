"""The child process that parses large bodies ends with its server, even a killed one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import os
from service.api.route_classes import offload
from service.api.schemas.training import TrainRequest
value, errors = offload.pool().submit(
    offload.parse, (TrainRequest, None), b'{{"epochs": 2}}'
).result()
assert value == TrainRequest(epochs=2) and errors == [], (value, errors)
print(*offload.pool()._processes, flush=True)
os.kill(os.getpid(), {signal})
"""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper counts as ended)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def test_the_child_exits_when_its_server_is_killed() -> None:
    server = subprocess.run(
        [sys.executable, "-c", SERVER.format(signal=9)], capture_output=True, text=True, timeout=60
    )
    child = int(server.stdout.split()[0])
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
