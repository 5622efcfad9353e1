"""Grading costs what training costs (issue 11): ratios against /train in the same run.

In-process (the app under FastAPI's TestClient, one process; the machine is shared, so rerun a
figure that looks off). Prints, each as the median of a few runs:

- a wrong /grade of a 20-epoch course training (one the search names: torch's momentum with the
  loss as a sum; one it cannot name) / the /train of the same case (target <= 5x); the same for
  torch's options (a shuffled, clipped, centered RMSprop with momentum; AdamW), whose catalogue
  is bigger;
- 100 wrong 20-epoch training submissions in one /grade/batch (target <= 1 s on 2 cores);
- 1,000 backward submissions in one /grade/batch, right and wrong (target <= 0.2 s server
  time: the access log's duration_ms, from the request's first byte to its last; the client's
  round trip through TestClient is printed beside it);
- 1,000 backward submissions to the cs231n_neuron preset (a graph the generated search covers);
- 1,000 backward submissions as a class hands them in (3 in 10 right, 5 a catalogued mistake or
  a pair, 2 wrong in no catalogued way) to one case, to 10 cases, and to 1,000 cases (a row each;
  each case then pays its own search: timed once).

The variants' memos are cleared before every timed grade, so each pays its own search.

    python -m bench.grading [--repeat 5] [--only train|backward]

Run it from two source trees (e.g. main exported to a temporary folder, and a branch) in one
session for a before/after figure: the script uses nothing but the HTTP API and the memos.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from service.core.dataset import load_dataset
from service.core.grading import mistakes, train_kernel, train_mistakes
from service.core.grading.train_catalogue import Mistake
from service.core.training.loop import TrainConfig
from service.main import app

MOMENTUM = {"optimizer": "momentum", "epochs": 20, "seed": 0}
TORCH = {
    "rmsprop": {"optimizer": "rmsprop", "epochs": 20, "seed": 0, "momentum": 0.5,
                "centered": True, "shuffle": True, "clip_grad_norm": {"max_norm": 0.05}},
    "adamw": {"optimizer": "adamw", "epochs": 20, "seed": 0, "amsgrad": True},
}  # fmt: skip


def _median(repeat: int, fn: Callable[[], Any], before: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fresh() -> None:
    train_mistakes._RUNS.clear()
    with contextlib.suppress(ImportError, AttributeError):  # the verdicts and items remembered
        from service.api import grade_formats
        from service.core.grading import policy

        policy._RIGHT.clear()
        grade_formats._ITEMS.clear()
    mistakes.forward_variants.cache_clear()
    mistakes.backward_variants.cache_clear()
    with contextlib.suppress(ImportError, AttributeError):  # the generated search, where it is
        from service.core.grading import graph_mistakes

        graph_mistakes._keyed.cache_clear()


class ServerTimes(logging.Handler):
    """The access log's duration_ms of each request, as the server measured it."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        if "duration_ms" in fields:
            self.times.append(fields["duration_ms"] / 1e3)


def _server_median(
    log: ServerTimes, repeat: int, fn: Callable[[], Any], before: Callable[[], None]
) -> tuple[float, float]:
    """(client round trip, server time) medians."""
    rounds, servers = [], []
    for _ in range(repeat):
        before()
        log.times.clear()
        start = time.perf_counter()
        fn()
        rounds.append(time.perf_counter() - start)
        servers.append(log.times[-1] if log.times else float("nan"))
    return statistics.median(rounds), statistics.median(servers)


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("train", "backward"), default=None)
    args = parser.parse_args()
    repeat = args.repeat
    log = ServerTimes()
    logging.getLogger("service.access").addHandler(log)
    with TestClient(app) as client:
        if args.only != "backward":
            _train(client, repeat)
        if args.only != "train":
            _backward(client, repeat, log)


def _train(client: TestClient, repeat: int) -> None:
    train_kernel.warm()
    right = _post(client, "/train", MOMENTUM)["loss_history"]
    config = TrainConfig.named("momentum", epochs=20)
    torch = Mistake(("torch_momentum",), ("momentum",), update="torch")
    losses, _, _ = train_mistakes._run(config, torch, 20, "bench")
    named = {
        "task": "train",
        "case": MOMENTUM,
        "submission": {"loss_history": losses[1].tolist()},
    }
    unnamed = {
        "task": "train",
        "case": MOMENTUM,
        "submission": {"loss_history": [h * 1.01 for h in right]},
    }
    assert _post(client, "/grade", named)["items"][0]["labels"] == [
        "torch_momentum",
        "loss_sum",
    ]
    t_train = _median(repeat, lambda: _post(client, "/train", MOMENTUM))
    t_named = _median(repeat, lambda: _post(client, "/grade", named), _fresh)
    t_unnamed = _median(repeat, lambda: _post(client, "/grade", unnamed), _fresh)
    print(f"/train momentum 20 epochs: {1e3 * t_train:.1f} ms")
    print(f"wrong /grade, named: {1e3 * t_named:.1f} ms = {t_named / t_train:.2f}x /train (<=5x)")
    print(f"wrong /grade, unnamed: {1e3 * t_unnamed:.1f} ms = {t_unnamed / t_train:.2f}x /train")

    for name, case in TORCH.items():
        other = _post(client, "/train", case)["loss_history"]
        body = {"task": "train", "case": case,
                "submission": {"loss_history": [h * 1.01 for h in other]}}  # fmt: skip
        t_case = _median(repeat, lambda case=case: _post(client, "/train", case))
        t_wrong = _median(repeat, lambda body=body: _post(client, "/grade", body), _fresh)
        paths = len(train_mistakes.trajectories(TrainConfig.named(name)))
        print(
            f"wrong /grade, unnamed, {name} ({paths} trajectories): {1e3 * t_wrong:.1f} ms = "
            f"{t_wrong / t_case:.2f}x its /train ({1e3 * t_case:.1f} ms)"
        )

    wrong_items = [
        {"task": "train", "case": MOMENTUM,
         "submission": {"loss_history": [h * (1.0 + 0.001 * (k + 1)) for h in right]}}
        for k in range(99)
    ] + [named]  # fmt: skip
    t_batch = _median(repeat, lambda: _post(client, "/grade/batch", {"items": wrong_items}), _fresh)
    print(f"100 wrong 20-epoch trainings in one /grade/batch: {1e3 * t_batch:.0f} ms (<= 1000)")


def _backward(client: TestClient, repeat: int, log: ServerTimes) -> None:
    cases = [("course", {"w": [0.1] * 9, "row": 0}, "dw3")]
    cs231n = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}
    if client.post("/grade", json={"task": "backward", "case": cs231n,
                                   "submission": {"dw0": 0.0}}).status_code == 200:  # fmt: skip
        cases.append(("cs231n_neuron", cs231n, "dw1"))
    for name, case, off in cases:
        grads = {k: float(v) for k, v in _post(client, "/backward", case)["gradients"].items()}
        rights = [{"task": "backward", "case": case, "submission": grads}] * 1000
        wrongs = [
            {"task": "backward", "case": case,
             "submission": {**grads, off: grads[off] * (1 + 1e-3 * (k + 1))}}
            for k in range(1000)
        ]  # fmt: skip
        for kind, items in (("right", rights), ("wrong", wrongs)):
            _batch(client, repeat, log, f"1000 {kind} backward ({name})", items)
    same = {"w": [0.1] * 9, "row": 0}
    _batch(client, repeat, log, "1000 mixed backward, one case", _mixed(lambda k: same))

    def distinct(k: int) -> dict[str, Any]:  # a row each, then other weights: 1000 cases
        return {"w": [0.1 + 1e-3 * (k // 506)] * 9, "row": k % 506}

    _batch(client, repeat, log, "1000 mixed backward, 1000 cases", _mixed(distinct), 1)
    _batch(client, repeat, log, "1000 mixed backward, 10 cases", _mixed(lambda k: distinct(k % 10)))


def _batch(
    client: TestClient,
    repeat: int,
    log: ServerTimes,
    name: str,
    items: list[dict[str, Any]],
    at_most: int = 0,
) -> None:
    body: dict[str, Any] = {"items": items}

    def send() -> Any:
        return _post(client, "/grade/batch", body)

    t, server = _server_median(log, at_most or repeat, send, _fresh)
    print(f"{name} in one /grade/batch: server {1e3 * server:.0f} ms (<= 200), round trip "
          f"{1e3 * t:.0f} ms")  # fmt: skip


def _row(row: int) -> tuple[tuple[float, ...], float]:
    data = load_dataset()
    return tuple(data.X[row].tolist()), float(data.y[row])


def _mixed(case_of: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """1000 backward submissions as a class hands them in, item k to case_of(k): 3 in 10 right,
    4 a single catalogued mistake, 1 a pair of them, 2 wrong in no catalogued way (dw3 off)."""
    from service.core.graph import GRADIENT_NAMES, backward, forward

    items = []
    for k in range(1000):
        case = case_of(k)
        x, y = _row(case["row"])
        c = forward(x, y, tuple(case["w"]))
        right = dict(zip(GRADIENT_NAMES, backward(c), strict=True))
        kind = k % 10
        if kind < 3:
            submission = right
        elif kind < 8:
            found = mistakes.backward_variants(c)
            singles = [v for v in found if len(v.names) == 1]
            pairs = [v for v in found if len(v.names) == 2]
            chosen = singles[k % len(singles)] if kind < 7 else pairs[k % len(pairs)]
            submission = {**right, **chosen.values}
        else:
            submission = {**right, "dw3": right["dw3"] * (1 + 1e-3 * (k + 1))}
        items.append({"task": "backward", "case": case, "submission": dict(submission)})
    mistakes.backward_variants.cache_clear()
    return items


if __name__ == "__main__":
    main()
