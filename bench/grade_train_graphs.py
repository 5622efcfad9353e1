"""Grading a training case on another graph than the course's: first use, and wrong /grade ÷ /train.

In-process (the app under FastAPI's TestClient; the machine is shared, so rerun a figure that
looks off). For a small graph (3 weights) and the ~50-operation graph of bench/graphs.py, both on
the built-in dataset's columns, momentum for 20 epochs over its 506 rows:

- first use of a graph never seen (a fresh id each run, so its module, training loop and
  wrong-version loop all compile; numba's own implementations are warm from the first graph):
  the first /train, then the first wrong /grade (the wrong-version loop's compile and the search);
  and, for another fresh graph, a wrong /grade as the very first request (everything at once);
- steady state, medians: /train, a wrong /grade the search names (the loss booked as a sum) and
  one it cannot name, each ÷ the /train of the same case (the course's target: <= 5x). The
  variants' memos are cleared before every timed grade, so each pays its own search.

    python -m bench.grade_train_graphs [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from bench.graphs import MLP50
from service.core.grading import train_mistakes
from service.main import app

SMALL = {
    "inputs": ["f1", "f3", "f4"],
    "weights": ["a", "b", "c"],
    "nodes": {"h": "tanh(a*f1 + b*f3)", "y_pred": "h + c*sigmoid(f4)"},
}
GRAPHS = {"small": SMALL, "mlp50": MLP50}


def _fresh_graph(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with a constant of its own in y_pred: a new graph id (nothing cached)."""
    out = copy.deepcopy(definition)
    out["nodes"]["y_pred"] += f" + 0.{random.randrange(10**8):08d}"
    return out


def _case(graph: Any) -> dict[str, Any]:
    return {"graph": graph, "optimizer": "momentum", "epochs": 20, "seed": 0}


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


CPU: list[float] = [0.0]  # the process's CPU seconds (every thread) of the last _timed call


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result); CPU[0] the process's CPU seconds meanwhile (a shared machine's
    wall clock includes waiting for a core: the CPU time is the compile's own cost)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    CPU[0] = time.process_time() - cpu
    return time.perf_counter() - start, out


def _median(repeat: int, fn: Callable[[], Any], before: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        times.append(_timed(fn)[0])
    return statistics.median(times)


def _fresh() -> None:
    train_mistakes._RUNS.clear()


def _unnamed(history: list[float]) -> list[float]:
    return [h * (1 + 1e-3 * (k + 1)) for k, h in enumerate(history)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with TestClient(app) as client:
        # numba's own implementations, compiled once per process: on a graph of their own
        warm = _case(_fresh_graph(SMALL))
        first_ever = {"task": "train", "case": warm, "submission": {"loss_history": [1.0] * 20}}
        t_first, _ = _timed(lambda: _post(client, "/grade", first_ever))
        print(
            f"the process's first graph: a wrong /grade as its first request {t_first:.2f} s "
            f"({CPU[0]:.2f} s CPU)"
        )
        for name, definition in GRAPHS.items():
            case = _case(_fresh_graph(definition))
            t_train, trained = _timed(lambda case=case: _post(client, "/train", case))
            c_train = CPU[0]
            body = {
                "task": "train",
                "case": case,
                "submission": {"loss_history": _unnamed(trained["loss_history"])},
            }
            t_grade, graded = _timed(lambda body=body: _post(client, "/grade", body))
            c_grade = CPU[0]
            assert not graded["passed"]
            other = _case(_fresh_graph(definition))
            first = {"task": "train", "case": other, "submission": {"loss_history": [1.0] * 20}}
            t_all, _ = _timed(lambda first=first: _post(client, "/grade", first))
            print(
                f"{name}: new graph: first /train {t_train:.2f} s ({c_train:.2f} s CPU); then "
                f"first wrong /grade {t_grade:.2f} s ({c_grade:.2f} s CPU); a wrong /grade as "
                f"its very first request {t_all:.2f} s ({CPU[0]:.2f} s CPU)"
            )

            history = trained["loss_history"]
            named = {**body, "submission": {"loss_history": [h * 506 for h in history]}}
            labels = _post(client, "/grade", named)["items"][0]["labels"]
            assert labels == ["loss_sum"], labels
            t_case = _median(repeat, lambda case=case: _post(client, "/train", case))
            t_named = _median(repeat, lambda b=named: _post(client, "/grade", b), _fresh)
            t_unnamed = _median(repeat, lambda b=body: _post(client, "/grade", b), _fresh)
            paths = len(train_mistakes.trajectories(_config(case)))
            print(
                f"{name}: /train {1e3 * t_case:.1f} ms; wrong /grade named {1e3 * t_named:.1f} ms"
                f" = {t_named / t_case:.2f}x; unnamed ({paths} trajectories) "
                f"{1e3 * t_unnamed:.1f} ms = {t_unnamed / t_case:.2f}x /train (<= 5x)"
            )


def _config(case: dict[str, Any]) -> Any:
    from service.api.schemas.training import TrainRequest

    return TrainRequest.model_validate(case).to_config()


if __name__ == "__main__":
    main()
