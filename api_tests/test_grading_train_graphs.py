"""Grading training cases on another graph than the course's (a preset by name, an inline
definition): a student's training loop, written by hand in plain Python with the graph's
gradient derived by hand (an oracle independent of the service), makes one mistake; /grade and
/grade/batch name it; the mistake-free loop scores full; lengths are checked against the graph."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

Gradient = Callable[[list[float], float, list[float]], tuple[float, list[float]]]


def _neuron(x: list[float], y: float, w: list[float]) -> tuple[float, list[float]]:
    """CS231n's sigmoid neuron f = 1/(1 + e^-(w0*x0 + w1*x1 + w2)), loss f."""
    f = 1.0 / (1.0 + math.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    d = f * (1.0 - f)
    return f, [d * x[0], d * x[1], d]


def _inline(x: list[float], y: float, w: list[float]) -> tuple[float, list[float]]:
    """h = tanh(w0*a); y_pred = h + w2*sin(w1*b); loss (y - y_pred)**2."""
    h = math.tanh(w[0] * x[0])
    s = math.sin(w[1] * x[1])
    y_pred = h + w[2] * s
    dy = -2.0 * (y - y_pred)
    return (y - y_pred) ** 2, [
        dy * (1.0 - h * h) * x[0],
        dy * w[2] * math.cos(w[1] * x[1]) * x[1],
        dy * s,
    ]


X = [[0.3 * math.sin(i) + 0.1 * i - 0.6, 0.8 * math.cos(1.7 * i)] for i in range(12)]
Y = [0.5 * math.sin(0.9 * i) for i in range(12)]
INLINE = {
    "inputs": ["a", "b"],
    "weights": ["w0", "w1", "w2"],
    "nodes": {"h": "tanh(w0*a)", "y_pred": "h + w2*sin(w1*b)"},
}
GRAPHS: dict[str, tuple[Any, Gradient, list[float]]] = {
    "preset": ("cs231n_neuron", _neuron, [0.4, -0.7, 0.2]),
    "inline": (INLINE, _inline, [0.6, 1.1, -0.5]),
}


def _case(graph: str, optimizer: str, **hyper: Any) -> dict[str, Any]:
    spec, _, w0 = GRAPHS[graph]
    return {"graph": spec, "optimizer": optimizer, "epochs": 4, "initial_weights": w0,
            "data": {"X": X, "y": Y}, **hyper}  # fmt: skip


def student(graph: str, case: dict[str, Any], mistakes: set[str]) -> dict[str, Any]:
    """The student's loop: per-sample updates in file order, the epoch's loss the mean of the
    losses before each row's update; one weight at a time, with the student's mistakes."""
    _, gradient, w0 = GRAPHS[graph]
    w, n = list(w0), len(w0)
    name, lr = case["optimizer"], case["learning_rate"]
    beta1, beta2, eps = case.get("beta1", 0.9), case.get("beta2", 0.999), case.get("eps", 1e-8)
    beta = case.get("beta", 0.9)
    m, v, t, history = [0.0] * n, [0.0] * n, 0, []
    for epoch in range(case["epochs"]):
        if "state_reset_each_epoch" in mistakes:
            m, v = [0.0] * n, [0.0] * n
        total, grads = 0.0, []
        for x, y in zip(X, Y, strict=True):
            loss, g = gradient(x, y, w)
            total += loss
            if "full_batch" in mistakes:
                grads.append(g)
                continue
            if "clip_grad_norm" in case and "clipping_ignored" not in mistakes:
                norm = math.sqrt(sum(gj * gj for gj in g))
                coef = case["clip_grad_norm"]["max_norm"] / (norm + 1e-6)
                g = [gj * coef for gj in g] if coef < 1 else g
            if "off_by_one@update" in mistakes:
                g = [g[j - 1] for j in range(n)]
            t += 1
            w = _update(name, lr, beta, beta1, beta2, eps, case, g, w, m, v, t, epoch, mistakes)
        if grads:
            g = [sum(col) / len(X) for col in zip(*grads, strict=True)]
            t += 1
            w = _update(name, lr, beta, beta1, beta2, eps, case, g, w, m, v, t, epoch, mistakes)
        history.append(total if "loss_sum" in mistakes else total / len(X))
    return {"loss_history": history, "final_weights": w}


def _update(name, lr, beta, beta1, beta2, eps, case, g, w, m, v, t, epoch, mistakes):  # type: ignore[no-untyped-def]
    out = []
    for j, (gj, wj) in enumerate(zip(g, w, strict=True)):
        if name == "sgd":
            out.append(wj + lr * gj if "sign_flip@update" in mistakes else wj - lr * gj)
        elif name == "momentum":
            if "torch_momentum" in mistakes:
                m[j] = beta * m[j] + gj
            else:
                m[j] = beta * m[j] + (1 - beta) * gj
            out.append(wj - lr * m[j])
        else:  # adam
            m[j] = beta1 * m[j] + (1 - beta1) * gj
            v[j] = beta2 * v[j] + (1 - beta2) * gj * gj
            mj, vj = m[j], v[j]
            if case.get("bias_correction") and "no_bias_correction" not in mistakes:
                k = epoch + 1 if "t_per_epoch" in mistakes else t
                mj, vj = mj / (1 - beta1**k), vj / (1 - beta2**k)
            if "eps_inside_sqrt" in mistakes:
                out.append(wj - lr * mj / math.sqrt(vj + eps))
            else:
                out.append(wj - lr * mj / (math.sqrt(vj) + eps))
    return out


ADAM = {"learning_rate": 0.05, "bias_correction": True, "eps": 1e-4}
# (optimizer settings, the student's mistakes, the labels the diagnosis names)
MISTAKES = [
    ("adam", ADAM, {"no_bias_correction"}, ("no_bias_correction",)),
    ("adam", ADAM, {"t_per_epoch"}, ("t_per_epoch",)),
    ("adam", ADAM, {"eps_inside_sqrt"}, ("eps_inside_sqrt",)),
    ("adam", ADAM, {"state_reset_each_epoch"}, ("state_reset_each_epoch",)),
    ("momentum", {"learning_rate": 0.1}, {"state_reset_each_epoch"}, ("state_reset_each_epoch",)),
    (
        "momentum",
        {"learning_rate": 0.02},
        {"torch_momentum", "loss_sum"},
        ("torch_momentum", "loss_sum"),
    ),  # fmt: skip
    ("sgd", {"learning_rate": 0.1}, {"loss_sum"}, ("loss_sum",)),
    ("sgd", {"learning_rate": 0.1}, {"sign_flip@update"}, ("sign_flip@update",)),
    ("sgd", {"learning_rate": 0.1}, {"off_by_one@update"}, ("off_by_one@update",)),
    ("sgd", {"learning_rate": 0.1}, {"full_batch"}, ("full_batch",)),
    (
        "sgd",
        {"learning_rate": 0.3, "clip_grad_norm": {"max_norm": 0.05}},
        {"clipping_ignored"},
        ("clipping_ignored",),
    ),  # fmt: skip
]


def _grade(client: Any, body: dict[str, Any]) -> Any:
    response = client.post("/grade", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_a_right_loop_scores_full_and_equals_train(client: Any, graph: str, optimizer: str) -> None:
    case = _case(graph, optimizer, **(ADAM if optimizer == "adam" else {"learning_rate": 0.1}))
    trained = client.post("/train", json=case)
    assert trained.status_code == 200, trained.text
    mine = student(graph, case, set())
    assert mine["loss_history"] == pytest.approx(trained.json()["loss_history"], rel=1e-12)
    result = _grade(client, {"task": "train", "case": case, "submission": mine})
    assert result["passed"]
    assert result["score"] == result["max_score"] == 2


@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize(
    ("optimizer", "hyper", "mistakes", "labels"),
    MISTAKES,
    ids=["+".join(sorted(m[2])) + f"-{m[0]}" for m in MISTAKES],
)
def test_a_wrong_loop_is_named(
    client: Any,
    graph: str,
    optimizer: str,
    hyper: dict[str, Any],
    mistakes: set[str],
    labels: tuple[str, ...],
) -> None:
    case = _case(graph, optimizer, **hyper)
    wrong = student(graph, case, mistakes)
    right = student(graph, case, set())
    assert wrong["loss_history"] != pytest.approx(right["loss_history"], rel=1e-6)
    body = {"task": "train", "case": case, "submission": {"loss_history": wrong["loss_history"]}}
    result = _grade(client, body)
    assert not result["passed"]
    assert tuple(result["items"][0]["labels"]) == labels


def test_a_batch_grades_a_class_on_another_graph(client: Any) -> None:
    case = _case("inline", "adam", **ADAM)
    kinds: list[set[str]] = [
        set(),
        {"no_bias_correction"},
        {"state_reset_each_epoch"},
        {"loss_sum"},
    ]
    submissions = [student("inline", case, m) for m in kinds]
    items = [{"task": "train", "case": case, "submission": s} for s in submissions]
    answer = client.post("/grade/batch", json={"items": items})
    assert answer.status_code == 200, answer.text
    results = [r["result"] for r in answer.json()["results"]]
    assert [r["passed"] for r in results] == [True, False, False, False]
    assert [tuple(r["items"][0]["labels"]) for r in results[1:]] == [
        ("no_bias_correction",),
        ("state_reset_each_epoch",),
        ("loss_sum",),
    ]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {
                "task": "train",
                "case": _case("preset", "sgd", learning_rate=0.1),
                "submission": {"loss_history": [1.0], "final_weights": [0.1] * 9},
            },
            "'final_weights' has 9 values; the graph takes 3",
        ),  # fmt: skip
        (
            {
                "task": "train",
                "case": _case("inline", "sgd", learning_rate=0.1),
                "submission": {"loss_history": [1.0]},
                "points": {"dw0": 1},
            },
            "points: unknown item(s) dw0",
        ),  # fmt: skip
        (
            {
                "task": "train",
                "case": {**_case("preset", "sgd"), "initial_weights": [0.1] * 9},
                "submission": {"loss_history": [1.0]},
            },
            "'initial_weights' has 9 values",
        ),  # fmt: skip
        (
            {
                "task": "train",
                "case": {"graph": "cs231n_neuron"},
                "submission": {"loss_history": [1.0]},
            },
            "'x0', 'x1' are not",
        ),  # fmt: skip
    ],
)
def test_another_graph_s_training_case_is_checked_against_it(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/grade", json=body)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]
    batch = client.post("/grade/batch", json={"items": [body]}).json()["results"][0]
    assert batch["gradable"] is False
    assert fragment in batch["reason"]


def test_the_course_keeps_nine_final_weights(client: Any) -> None:
    body = {"task": "train", "case": {"optimizer": "sgd", "epochs": 1},
            "submission": {"loss_history": [1.0], "final_weights": [0.1] * 3}}  # fmt: skip
    response = client.post("/grade", json=body)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["type"] == "too_short"
    assert error["loc"] == "body.train.submission.final_weights"


def test_the_wrong_versions_of_another_graph_count_in_the_step_limit(
    client: Any, override: Any
) -> None:
    case = _case("preset", "momentum", learning_rate=0.1)  # 12 rows x 4 epochs = 48 steps
    override(max_total_steps=100)
    assert client.post("/train", json=case).status_code == 200
    body = {"task": "train", "case": case, "submission": {"loss_history": [1.0]}}
    response = client.post("/grade", json=body)
    assert response.status_code == 422, response.text
    assert "BACKPROP_MAX_TOTAL_STEPS" in response.json()["detail"]
