"""Generate golden files proving our training optimizers equal PyTorch's.

For every case below, the backprop graph of the service is rebuilt with torch autograd
(float64, CPU) and trained per sample (stochastic updates) with the matching
``torch.optim`` optimizer (single-tensor implementation, ``foreach=False``). The initial
weights, per-epoch mean losses and final weights are written to
``tests/golden/torch_optimizers.json``; the test suite compares the service's own
optimizers against them without needing torch.

The clipping cases (``CLIPPED``: every torch-named optimizer with each clipping) go to
``tests/golden/torch_clipping.json``: after ``loss.backward()`` and before ``optimizer.step()``,
``torch.nn.utils.clip_grad_value_`` and then ``torch.nn.utils.clip_grad_norm_`` (single-tensor
code, ``foreach=False``) on the one parameter tensor of the nine weights. Their ``clipping`` is
written as the service's request fields (``clip_grad_value``, ``clip_grad_norm``).

Graph per row (f1..f5, y) with weights w1..w9::

    a = w1*f1 + w2*f2; exp = e^(a*a + w6); tanh = tanh(exp + w7); q = w4*f4 + w5*f5
    sigmoid = sigmoid(sin(w3*f3) * q + w8); y_pred = tanh + w9*sigmoid
    loss = (y - y_pred)^2

Initial weights are ``numpy.random.default_rng(seed).normal(0.0, 0.01, 9)``; with shuffle,
each epoch's row order is ``rng.permutation(n)`` drawn from that same generator afterwards.
The loss recorded for an epoch is ``numpy.mean`` of the per-row losses of that epoch's
forward passes (each taken before that row's update).

Run (needs ``pip install torch==2.13.0``, only for this script)::

    python scripts/make_torch_goldens.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
DATA_PATH = ROOT / "service" / "data" / "backprop_data.csv"
OUT_PATH = ROOT / "tests" / "golden" / "torch_optimizers.json"
CLIP_PATH = ROOT / "tests" / "golden" / "torch_clipping.json"
EPOCHS = 3

SGD = {
    "name": "sgd",
    "learning_rate": 0.001,
    "momentum": 0,
    "dampening": 0,
    "nesterov": False,
    "weight_decay": 0,
}
ADAM = {
    "name": "adam",
    "learning_rate": 0.001,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "bias_correction": True,
    "amsgrad": False,
    "weight_decay": 0,
}
ADAMW = {
    "name": "adamw",
    "learning_rate": 0.001,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.01,
    "amsgrad": False,
}
RMSPROP = {
    "name": "rmsprop",
    "learning_rate": 0.01,
    "alpha": 0.99,
    "eps": 1e-8,
    "momentum": 0,
    "centered": False,
    "weight_decay": 0,
}
ADAGRAD = {
    "name": "adagrad",
    "learning_rate": 0.01,
    "lr_decay": 0,
    "eps": 1e-10,
    "initial_accumulator_value": 0,
    "weight_decay": 0,
}

# (case name, base optimizer config, overrides, seed, shuffle)
CASES = [
    ("sgd", SGD, {}, 0, False),
    ("sgd-momentum0.9", SGD, {"momentum": 0.9}, 0, False),
    (
        "sgd-momentum0.9-dampening0.1-wd0.01",
        SGD,
        {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
        0,
        False,
    ),
    ("sgd-nesterov-momentum0.9", SGD, {"momentum": 0.9, "nesterov": True}, 0, False),
    ("sgd-lr0.01-shuffle-seed7", SGD, {"learning_rate": 0.01}, 7, True),
    ("adam-bias-correction", ADAM, {}, 0, False),
    ("adam-bias-correction-lr0.01", ADAM, {"learning_rate": 0.01}, 0, False),
    ("adam-bias-correction-amsgrad", ADAM, {"amsgrad": True}, 0, False),
    ("adam-bias-correction-wd0.01", ADAM, {"weight_decay": 0.01}, 0, False),
    ("adam-bias-correction-lr0.01-shuffle-seed3", ADAM, {"learning_rate": 0.01}, 3, True),
    ("adamw", ADAMW, {}, 0, False),
    ("adamw-lr0.01-wd0.1", ADAMW, {"learning_rate": 0.01, "weight_decay": 0.1}, 0, False),
    ("adamw-amsgrad", ADAMW, {"amsgrad": True}, 0, False),
    ("rmsprop", RMSPROP, {}, 0, False),
    ("rmsprop-lr0.001", RMSPROP, {"learning_rate": 0.001}, 0, False),
    ("rmsprop-centered", RMSPROP, {"centered": True}, 0, False),
    ("rmsprop-momentum0.9", RMSPROP, {"momentum": 0.9}, 0, False),
    (
        "rmsprop-centered-momentum0.5-wd0.01",
        RMSPROP,
        {"centered": True, "momentum": 0.5, "weight_decay": 0.01},
        0,
        False,
    ),
    ("adagrad", ADAGRAD, {}, 0, False),
    ("adagrad-lr-decay0.01", ADAGRAD, {"lr_decay": 0.01}, 0, False),
    ("adagrad-initial-accumulator0.1", ADAGRAD, {"initial_accumulator_value": 0.1}, 0, False),
    ("adagrad-lr0.1-wd0.01", ADAGRAD, {"learning_rate": 0.1, "weight_decay": 0.01}, 0, False),
]


# Each clipping, as the service's request fields (norm_type "inf" for the max norm).
CLIPPINGS = [
    ("value0.5", {"clip_grad_value": 0.5}),
    ("norm1", {"clip_grad_norm": {"max_norm": 1.0, "norm_type": 2.0}}),
    ("norm0.5-inf", {"clip_grad_norm": {"max_norm": 0.5, "norm_type": "inf"}}),
    ("norm1-p1.5", {"clip_grad_norm": {"max_norm": 1.0, "norm_type": 1.5}}),
    (
        "value0.5-norm0.8",
        {"clip_grad_value": 0.5, "clip_grad_norm": {"max_norm": 0.8, "norm_type": 2.0}},
    ),
]
# Every torch-named optimizer (sgd with and without momentum) with each clipping.
CLIPPED = [
    (f"{name}-{clip_name}", base, overrides, clipping, seed, shuffle)
    for name, base, overrides, seed, shuffle in [
        ("sgd-lr0.01", SGD, {"learning_rate": 0.01}, 0, False),
        ("sgd-momentum0.9", SGD, {"momentum": 0.9}, 0, False),
        ("adam-bias-correction-lr0.01", ADAM, {"learning_rate": 0.01}, 0, False),
        ("adamw", ADAMW, {}, 0, False),
        ("rmsprop", RMSPROP, {}, 0, False),
        ("adagrad", ADAGRAD, {}, 0, False),
    ]
    for clip_name, clipping in CLIPPINGS
] + [
    ("sgd-lr0.01-norm1-p1", SGD, {"learning_rate": 0.01},
     {"clip_grad_norm": {"max_norm": 1.0, "norm_type": 1.0}}, 0, False),
    ("adam-bias-correction-norm1-shuffle-seed3", ADAM, {},
     {"clip_grad_norm": {"max_norm": 1.0, "norm_type": 2.0}}, 3, True),
]  # fmt: skip


def clip_calls(clipping: dict) -> tuple[list, str]:
    """The torch.nn.utils calls of a clipping (each taking the parameter list) and their text."""
    calls, shown = [], []
    value = clipping.get("clip_grad_value")
    if value is not None:
        calls.append(lambda ps: torch.nn.utils.clip_grad_value_(ps, value, foreach=False))
        shown.append(f"torch.nn.utils.clip_grad_value_(params, clip_value={value!r})")
    norm = clipping.get("clip_grad_norm")
    if norm is not None:
        p = float(norm["norm_type"])  # float("inf") for "inf"
        max_norm = norm["max_norm"]
        calls.append(
            lambda ps: torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=p, foreach=False)
        )
        shown_p = "float('inf')" if p == float("inf") else repr(p)
        shown.append(
            f"torch.nn.utils.clip_grad_norm_(params, max_norm={max_norm!r}, norm_type={shown_p})"
        )
    return calls, "; ".join(shown)


def forward(w: torch.Tensor, x: list[float], y: float) -> dict[str, torch.Tensor]:
    """Evaluate the graph for one row (plain floats) and return its named values."""
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w.unbind()
    f1, f2, f3, f4, f5 = x
    a = w1 * f1 + w2 * f2
    exp = torch.exp(a * a + w6)
    tanh = torch.tanh(exp + w7)
    q = w4 * f4 + w5 * f5
    sigmoid = torch.sigmoid(torch.sin(w3 * f3) * q + w8)
    y_pred = tanh + w9 * sigmoid
    loss = (y - y_pred) ** 2
    return {"exp": exp, "tanh": tanh, "sigmoid": sigmoid, "y_pred": y_pred, "loss": loss}


def sanity_check(x_all: list[list[float]], y_all: list[float]) -> None:
    """Check the torch graph against known forward values and gradients on row 0."""
    w = torch.full((9,), 0.1, dtype=torch.float64, requires_grad=True)
    out = forward(w, x_all[0], y_all[0])
    expected = {
        "exp": 1.1272967040973583,
        "tanh": 0.8417934192562146,
        "sigmoid": 0.5279179387419721,
        "loss": 0.9298048963072919,
    }
    for key, value in expected.items():
        got = out[key].item()
        assert abs(got - value) <= 1e-15, f"{key}: got {got!r}, expected {value!r}"
    out["loss"].backward()
    grad = [round(g, 6) for g in w.grad.tolist()]
    expected_grad = [
        -0.229733,
        -0.021408,
        -0.005625,
        -0.004658,
        -0.001008,
        -0.633475,
        -0.561942,
        -0.048063,
        -1.018104,
    ]
    assert grad == expected_grad, f"gradient {grad} != {expected_grad}"


def make_optimizer(params: list[torch.Tensor], cfg: dict) -> tuple[torch.optim.Optimizer, str]:
    """Build the torch optimizer for one of our optimizer configs and describe it."""
    name = cfg["name"]
    lr = cfg["learning_rate"]
    if name == "sgd":
        kwargs = {
            "lr": lr,
            "momentum": cfg["momentum"],
            "dampening": cfg["dampening"],
            "nesterov": cfg["nesterov"],
            "weight_decay": cfg["weight_decay"],
        }
        cls = torch.optim.SGD
    elif name in ("adam", "adamw"):
        if name == "adam" and not cfg["bias_correction"]:
            raise ValueError("torch.optim.Adam always applies bias correction")
        kwargs = {
            "lr": lr,
            "betas": (cfg["beta1"], cfg["beta2"]),
            "eps": cfg["eps"],
            "weight_decay": cfg["weight_decay"],
            "amsgrad": cfg["amsgrad"],
        }
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    elif name == "rmsprop":
        kwargs = {
            "lr": lr,
            "alpha": cfg["alpha"],
            "eps": cfg["eps"],
            "weight_decay": cfg["weight_decay"],
            "momentum": cfg["momentum"],
            "centered": cfg["centered"],
        }
        cls = torch.optim.RMSprop
    elif name == "adagrad":
        kwargs = {
            "lr": lr,
            "lr_decay": cfg["lr_decay"],
            "weight_decay": cfg["weight_decay"],
            "initial_accumulator_value": cfg["initial_accumulator_value"],
            "eps": cfg["eps"],
        }
        cls = torch.optim.Adagrad
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    described = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    optimizer = cls(params, foreach=False, maximize=False, differentiable=False, **kwargs)
    return optimizer, f"torch.optim.{cls.__name__}({described})"


def run_case(
    x_all: list[list[float]],
    y_all: list[float],
    cfg: dict,
    seed: int,
    shuffle: bool,
    clipping: dict | None = None,
) -> dict:
    """Train one case per sample with torch and return its golden numbers."""
    rng = np.random.default_rng(seed)
    initial = rng.normal(0.0, 0.01, 9)
    w = torch.tensor(initial, dtype=torch.float64, requires_grad=True)
    optimizer, described = make_optimizer([w], cfg)
    clips, clips_shown = clip_calls(clipping or {})
    if clips:
        described = f"{described}; {clips_shown} before optimizer.step()"
    n = len(x_all)
    history = []
    for _ in range(EPOCHS):
        order = rng.permutation(n) if shuffle else np.arange(n)
        losses = np.empty(n, dtype=np.float64)
        for k, i in enumerate(order.tolist()):
            optimizer.zero_grad()
            loss = forward(w, x_all[i], y_all[i])["loss"]
            loss.backward()
            for clip in clips:  # value first, then norm
                clip([w])
            optimizer.step()
            losses[k] = loss.item()
        history.append(float(np.mean(losses)))
    return {
        "initial_weights": [float(v) for v in initial],
        "loss_history": history,
        "final_weights": w.detach().tolist(),
        "equivalent_to": described,
    }


def main() -> None:
    """Run every case and write the golden JSON file."""
    torch.set_default_dtype(torch.float64)
    data = np.loadtxt(DATA_PATH, delimiter=",", skiprows=1)
    torch.set_num_threads(1)  # tiny scalar ops: threading only adds overhead
    x_all = data[:, :5].tolist()
    y_all = data[:, 5].tolist()
    sanity_check(x_all, y_all)
    names = [case[0] for case in CASES]
    assert len(set(names)) == len(names), "case names must be unique"
    cases = []
    for name, base, overrides, seed, shuffle in CASES:
        cfg = {**base, **overrides}
        result = run_case(x_all, y_all, cfg, seed, shuffle)
        cases.append(
            {
                "name": name,
                "optimizer": cfg,
                "epochs": EPOCHS,
                "seed": seed,
                "shuffle": shuffle,
                **result,
            }
        )
    write(OUT_PATH, cases)
    clipped = []
    for name, base, overrides, clipping, seed, shuffle in CLIPPED:
        cfg = {**base, **overrides}
        result = run_case(x_all, y_all, cfg, seed, shuffle, clipping)
        clipped.append(
            {
                "name": name,
                "optimizer": cfg,
                "clipping": clipping,
                "epochs": EPOCHS,
                "seed": seed,
                "shuffle": shuffle,
                **result,
            }
        )
    write(CLIP_PATH, clipped)


def write(path: Path, cases: list[dict]) -> None:
    """Write one golden JSON file."""
    names = [case["name"] for case in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    golden = {
        "generated_by": "scripts/make_torch_goldens.py",
        "torch_version": torch.__version__,
        "cases": cases,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        json.dump(golden, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
