"""POST /train: the course's algorithm reproduced exactly, torch's optimizers within 1e-9."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "torch_optimizers.json"
DATA = Path(__file__).resolve().parent.parent / "service" / "data" / "backprop_data.csv"


def _dataset() -> tuple[list[list[float]], list[float]]:
    lines = DATA.read_text().splitlines()[1:]
    rows = [[float(v) for v in line.split(",")] for line in lines]
    return [r[:5] for r in rows], [r[5] for r in rows]


def _plain_gradient(x: list[float], y: float, w: list[float]) -> tuple[float, list[float]]:
    """SPEC §1 written out once more, independently of the service: (loss, dw1..dw9)."""
    f1, f2, f3, f4, f5 = x
    a = w[0] * f1 + w[1] * f2
    exp = math.exp(a * a + w[5])
    tanh = math.tanh(exp + w[6])
    q = w[3] * f4 + w[4] * f5
    sigmoid = 1.0 / (1.0 + math.exp(-(math.sin(w[2] * f3) * q + w[7])))
    y_pred = tanh + w[8] * sigmoid
    loss = (y - y_pred) * (y - y_pred)
    dy_pred = -2.0 * (y - y_pred)
    ds = dy_pred * w[8] * sigmoid * (1.0 - sigmoid)
    dt = dy_pred * (1.0 - tanh * tanh)
    dw6 = dt * exp
    grads = [
        dw6 * 2.0 * a * f1,
        dw6 * 2.0 * a * f2,
        ds * q * math.cos(w[2] * f3) * f3,
        ds * math.sin(w[2] * f3) * f4,
        ds * math.sin(w[2] * f3) * f5,
        dw6,
        dt,
        ds,
        dy_pred * sigmoid,
    ]
    return loss, grads


def _plain_training(
    optimizer: str, epochs: int, w0: list[float]
) -> tuple[list[float], list[float]]:
    """The course's per-sample loop with its three update rules (SPEC §5), in file order."""
    X, Y = _dataset()
    w = list(w0)
    m = [0.0] * 9
    v = [0.0] * 9
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            loss, g = _plain_gradient(x, y, w)
            total += loss
            for i in range(9):
                if optimizer == "sgd":
                    w[i] -= 0.001 * g[i]
                elif optimizer == "momentum":
                    m[i] = 0.9 * m[i] + (1 - 0.9) * g[i]
                    w[i] -= 0.01 * m[i]
                else:
                    m[i] = 0.9 * m[i] + (1 - 0.9) * g[i]
                    v[i] = 0.999 * v[i] + (1 - 0.999) * (g[i] * g[i])
                    w[i] -= 0.001 * m[i] / (math.sqrt(v[i]) + 1e-8)
        history.append(total / len(Y))
    return history, w


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_train_reproduces_a_plain_course_loop_exactly(client: Any, optimizer: str) -> None:
    response = client.post("/train", json={"optimizer": optimizer})
    assert response.status_code == 200
    body = response.json()
    assert body["initial_weights"] == np.random.default_rng(0).normal(0.0, 0.01, 9).tolist()
    history, final = _plain_training(optimizer, 20, body["initial_weights"])
    assert body["loss_history"] == history
    assert body["final_weights"] == final
    assert body["epochs"] == 20
    assert body["steps"] == 20 * 506
    assert body["status"] == "completed"
    assert body["diverged_at"] is None


def test_train_defaults_are_the_course_settings(client: Any) -> None:
    body = client.post("/train", json={"epochs": 1}).json()
    assert body["optimizer"]["name"] == "sgd"
    assert body["optimizer"]["hyperparameters"]["learning_rate"] == 0.001
    assert body["optimizer"]["equivalent_to"].startswith("torch.optim.SGD(lr=0.001,")
    adam = client.post("/train", json={"optimizer": "adam", "epochs": 1}).json()["optimizer"]
    assert adam["hyperparameters"] == {
        "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
        "bias_correction": False, "amsgrad": False, "weight_decay": 0.0,
    }  # fmt: skip
    assert adam["equivalent_to"] is None
    assert "no bias correction" in adam["rule"]
    momentum = client.post("/train", json={"optimizer": "momentum", "epochs": 1}).json()
    assert momentum["optimizer"]["hyperparameters"] == {"learning_rate": 0.01, "beta": 0.9}


def test_train_loss_falls_with_every_course_optimizer(client: Any) -> None:
    for optimizer in ("sgd", "momentum", "adam"):
        history = client.post("/train", json={"optimizer": optimizer}).json()["loss_history"]
        assert history[-1] < history[0] / 5


def _golden_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
    return cases


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda case: case["name"])
def test_train_equals_torch_within_1e_9_relative(client: Any, case: dict[str, Any]) -> None:
    hyper = {k: v for k, v in case["optimizer"].items() if k != "name"}
    body = {
        "optimizer": case["optimizer"]["name"], **hyper, "epochs": case["epochs"],
        "seed": case["seed"], "shuffle": case["shuffle"],
    }  # fmt: skip
    response = client.post("/train", json=body)
    assert response.status_code == 200
    got = response.json()
    assert got["initial_weights"] == case["initial_weights"]
    assert got["loss_history"] == pytest.approx(case["loss_history"], rel=1e-9, abs=0)
    assert got["final_weights"] == pytest.approx(case["final_weights"], rel=1e-9, abs=1e-15)
    assert _torch_call(got["optimizer"]["equivalent_to"]) == _torch_call(case["equivalent_to"])


def _torch_call(expression: str) -> tuple[str, dict[str, Any]]:
    """Parse "torch.optim.X(k=v, ...)" into (X, kwargs) without torch."""
    name, _, args = expression.removeprefix("torch.optim.").partition("(")
    kwargs = eval(f"dict({args}", {"__builtins__": {"dict": dict, "True": True, "False": False}})
    return name, kwargs


def test_train_with_clipping_answers_the_readable_reference_and_names_the_clipping(
    client: Any,
) -> None:
    clip = {"clip_grad_value": 0.5, "clip_grad_norm": {"max_norm": 1.0, "norm_type": "inf"}}
    response = client.post("/train", json={"optimizer": "adam", "epochs": 3, **clip})
    assert response.status_code == 200
    body = response.json()
    config = TrainConfig.named(
        "adam", {}, Clipping(value=0.5, max_norm=1.0, norm_type=math.inf), epochs=3
    )
    reference = run(config, reference=True)
    assert body["loss_history"] == reference.loss_history
    assert body["final_weights"] == reference.final_weights
    assert body["optimizer"]["clipping"] == clip
    assert body["optimizer"]["rule"].startswith("value first, then norm: g = clamp(g, -0.5, 0.5)")
    assert body["optimizer"]["equivalent_to"] is None  # the course's Adam is not torch's
    unclipped = client.post("/train", json={"optimizer": "adam", "epochs": 3}).json()
    assert unclipped["loss_history"] != body["loss_history"]
    assert unclipped["optimizer"]["clipping"] is None


def test_train_with_initial_weights_starts_there(client: Any) -> None:
    w0 = [0.5, -0.5, 0.25, 0.1, -0.1, 0.0, 0.2, 0.3, 0.9]
    body = client.post("/train", json={"initial_weights": w0, "epochs": 2}).json()
    assert body["initial_weights"] == w0
    history, final = _plain_training("sgd", 2, w0)
    assert body["loss_history"] == history
    assert body["final_weights"] == final


def test_train_shuffle_follows_the_documented_generator(client: Any) -> None:
    body = client.post("/train", json={"shuffle": True, "seed": 5, "epochs": 2}).json()
    rng = np.random.default_rng(5)
    assert body["initial_weights"] == rng.normal(0.0, 0.01, 9).tolist()
    X, Y = _dataset()
    w = list(body["initial_weights"])
    history = []
    for _ in range(2):
        total = 0.0
        for i in rng.permutation(len(Y)):
            loss, g = _plain_gradient(X[i], Y[i], w)
            total += loss
            w = [wi - 0.001 * gi for wi, gi in zip(w, g, strict=True)]
        history.append(total / len(Y))
    assert body["loss_history"] == history
    assert body["final_weights"] == w


def test_train_on_custom_data_with_standardize_z_scores_first(client: Any) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(40, 5))
    y = rng.normal(1.5, 0.1, size=40)
    w0 = [0.1] * 9
    raw = {"data": {"X": X.tolist(), "y": y.tolist()}, "initial_weights": w0, "epochs": 3}
    plain = client.post("/train", json=raw).json()
    scaled = client.post("/train", json={**raw, "standardize": True}).json()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = client.post(
        "/train", json={"data": {"X": Z.tolist(), "y": y.tolist()}, "initial_weights": w0,
                        "epochs": 3}
    ).json()  # fmt: skip
    assert scaled["loss_history"] == pytest.approx(expected["loss_history"], rel=1e-12)
    assert scaled["loss_history"] != plain["loss_history"]


def test_train_that_diverges_reports_where_and_keeps_a_finite_history(client: Any) -> None:
    response = client.post("/train", json={"optimizer": "sgd", "learning_rate": 1e4, "epochs": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "diverged"
    assert body["diverged_at"]["step"] == body["steps"]
    assert body["epochs"] == len(body["loss_history"]) <= body["diverged_at"]["epoch"]
    assert all(math.isfinite(v) for v in body["loss_history"] + body["final_weights"])
    assert "NaN" not in response.text
    assert "Infinity" not in response.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"optimizer": "lbfgs"}, "body.optimizer"),
        ({"epochs": 0}, "body.epochs"),
        ({"epochs": 10**9}, "limit"),
        ({"learning_rate": -0.1}, "body.learning_rate"),
        ({"optimizer": "sgd", "beta1": 0.9}, "does not take beta1"),
        ({"optimizer": "momentum", "momentum": 0.9}, "does not take momentum"),
        ({"nesterov": True}, "nesterov"),
        ({"initial_weights": [0.1] * 8}, "body.initial_weights"),
        ({"data": {"X": [[1, 2, 3, 4, 5]], "y": [1, 2]}}, "X has 1 rows but y has 2"),
        ({"standardize": True}, "standardize"),
        ({"seed": -1}, "body.seed"),
        ({"epochs": 2.5}, "body.epochs"),
        ({"clip_grad_value": 0}, "body.clip_grad_value"),
        ({"clip_grad_value": -0.5}, "body.clip_grad_value"),
        ({"clip_grad_norm": {"max_norm": 0.0}}, "body.clip_grad_norm.max_norm"),
        ({"clip_grad_norm": {"max_norm": 1, "norm_type": 0.9}}, "body.clip_grad_norm.norm_type"),
        ({"clip_grad_norm": {"max_norm": 1, "norm_type": "max"}}, "body.clip_grad_norm.norm_type"),
        ({"clip_grad_norm": {"max_norm": 1, "p": 2}}, "body.clip_grad_norm.p"),
        ({"clip_grad_norm": {"norm_type": 2}}, "body.clip_grad_norm.max_norm"),
    ],
)
def test_train_rejects_bad_configurations(client: Any, body: dict[str, Any], fragment: str) -> None:
    response = client.post("/train", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]


HUGE = {"X": [[1e200, 1, 2, 3, 4], [-1e200, 2, 3, 4, 5], [3e200, 0, 0, 0, 0]], "y": [1, 2, 3]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/train", {"data": HUGE, "standardize": True}),
        ("/compare", {"data": HUGE, "standardize": True}),
        ("/train/batch", {"configs": [{}, {"data": HUGE, "standardize": True}]}),
    ],
)
def test_features_too_large_to_standardize_are_a_422_naming_the_step(
    client: Any, path: str, body: Any
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/numerical-overflow"
    assert "z-score" in response.json()["detail"]
