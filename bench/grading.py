"""Grading costs what training costs (issue 11): ratios against /train in the same run.

In-process (the app under FastAPI's TestClient, one process; the machine is shared, so rerun a
figure that looks off). Prints, each as the median of a few runs:

- a wrong /grade of a 20-epoch course training (one the search names: torch's momentum with the
  loss as a sum; one it cannot name) / the /train of the same case (target <= 5x); the same for
  torch's options (a shuffled, clipped, centered RMSprop with momentum; AdamW), whose catalogue
  is bigger;
- 100 wrong 20-epoch training submissions in one /grade/batch (target <= 1 s on 2 cores);
- 1,000 backward submissions in one /grade/batch, right and wrong (target <= 0.2 s).

The training variants' memo is cleared before every timed grade, so each pays its own search.

    python -m bench.grading [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

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
    mistakes.forward_variants.cache_clear()
    mistakes.backward_variants.cache_clear()


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with TestClient(app) as client:
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
        print(
            f"wrong /grade, named: {1e3 * t_named:.1f} ms = {t_named / t_train:.2f}x /train (<=5x)"
        )
        print(
            f"wrong /grade, unnamed: {1e3 * t_unnamed:.1f} ms = {t_unnamed / t_train:.2f}x /train"
        )

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
        t_batch = _median(
            repeat, lambda: _post(client, "/grade/batch", {"items": wrong_items}), _fresh
        )
        print(f"100 wrong 20-epoch trainings in one /grade/batch: {1e3 * t_batch:.0f} ms (<= 1000)")

        case = {"w": [0.1] * 9, "row": 0}
        grads = {k: float(v) for k, v in _post(client, "/backward", case)["gradients"].items()}
        rights = [{"task": "backward", "case": case, "submission": grads}] * 1000
        wrongs = [
            {"task": "backward", "case": case,
             "submission": {**grads, "dw3": grads["dw3"] * (1 + 1e-3 * (k + 1))}}
            for k in range(1000)
        ]  # fmt: skip
        t_right = _median(repeat, lambda: _post(client, "/grade/batch", {"items": rights}), _fresh)
        t_wrong = _median(repeat, lambda: _post(client, "/grade/batch", {"items": wrongs}), _fresh)
        print(f"1000 right backward in one /grade/batch: {1e3 * t_right:.0f} ms (<= 200)")
        print(f"1000 wrong backward in one /grade/batch: {1e3 * t_wrong:.0f} ms (<= 200)")


if __name__ == "__main__":
    main()
