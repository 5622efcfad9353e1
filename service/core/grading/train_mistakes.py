"""Wrong versions of the course's training (SPEC §5), searched compiled, to say why a run differs.

A wrong training is a ``Trajectory`` (what changes the weights: the gradient trained on, the
update rule's variant, the state's handling, full batch, the neighbour's gradient, a shuffled
order, a hard-coded rate) combined with a way of booking the epoch's loss (``BOOKKEEPING``: the
sum, the last row, the MSE of the wrong vector, after the updates, never reset), so compounds
such as torch's momentum with the loss as a sum come at no extra cost: one compiled run
(``train_kernel.run_variant``) records every bookkeeping at once.

Bounded: every trajectory first runs one epoch; those whose first epoch matches the submission's
first loss (in some bookkeeping) run two, and those still matching run to the end; the whole
search stops when it has spent one epoch per trajectory and ``FULL_RUNS`` times the case's steps.
Runs are memoized per configuration (a batch of many students' answers to one case pays once).

(Over 250 lines: the catalogue of training mistakes, each with its sentence.)

Tested by tests/core/grading/test_train_mistakes.py.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service.core.grading.policy import DIAGNOSIS_RTOL, Value, Variant
from service.core.grading.train_kernel import GRADIENT, OPTIMIZER, UPDATE, compiled
from service.core.training.loop import TrainConfig, TrainResult, inputs

SHUFFLED_MAX_STEPS = 1_000_000  # a shuffled guess keeps its orders (8 bytes a step): bounded
FULL_RUNS = 4  # besides one epoch per trajectory, the search trains at most this many full runs
LOSS_SENTENCES = {
    "loss_sum": "the epoch's loss as the sum of the per-row losses, not their mean",
    "loss_last_row": "the epoch's loss as the last row's loss, not the mean over the epoch",
    "loss_wrong_vector": "the epoch's loss as the MSE of the wrong vector (y against the "
    "per-row losses), not the mean of the per-row losses",
    "loss_after_updates": "the epoch's loss taken after the updates (per row after its own "
    "update, or over the dataset at the epoch's end), not before each row's update",
    "loss_not_reset": "the loss accumulator not reset between epochs",
}
# the rows of train_kernel.LOSSES, and the label of each
BOOKKEEPING = ("", "loss_sum", "loss_last_row", "loss_wrong_vector", "loss_after_updates",
               "loss_not_reset", "loss_after_updates")  # fmt: skip
SENTENCES = {
    **LOSS_SENTENCES,
    "wrong_derivative@sin": "trained on a dw3 with sin's derivative taken wrong (|cos|, or sin)",
    "dropped_factor@f3": "trained on a dw3 without the chain factor f3",
    "global_w": "trained on a backward that reads the notebook's global w = [0.1]*9",
    "sign_flip@update": "w += lr*g: the update goes up the gradient",
    "off_by_one@update": "each weight updated with its neighbour's gradient",
    "full_batch": "one update per epoch with the mean gradient, not one per row",
    "wrong_order": "the rows visited in a shuffled order, not in file order",
    "wrong_constant@lr": "a hard-coded learning rate other than the case's",
    "torch_momentum": "torch's momentum b = beta*b + g; w -= lr*b, not the course's average "
    "m = beta*m + (1-beta)*g",
    "cs231n_momentum": "cs231n's momentum v = mu*v - lr*g; w += v, not the course's average",
    "state_not_updated": "the momentum buffer computed but never stored (it stays 0)",
    "state_per_row": "one momentum buffer per row instead of one for the run",
    "state_initial_value": "the momentum buffer started at the first gradient instead of 0",
    "state_shared": "one scalar momentum buffer shared by all nine weights",
    "velocity_previous_gradient": "the previous raw gradient used as the velocity",
    "state_reset_each_epoch": "the optimizer's state reset to 0 at each epoch",
    "bias_correction": "Adam with bias correction m/(1-b1^t), v/(1-b2^t); the course's has none",
    "adam_constant_correction": "Adam's m and v divided by the constants (1-b1), (1-b2)",
    "t_per_epoch": "Adam's t counting epochs, not updates",
    "t_per_row": "Adam's t taken as the row index (restarting every epoch)",
    "t_per_weight": "Adam's t taken as the weight index inside the loop over weights",
    "eps_inside_sqrt": "Adam's eps inside the square root: sqrt(v + eps)",
    "adam_v_not_squared": "Adam's v averaging g instead of g^2",
    "misplaced@eps": "Adam's eps added outside the division: lr*m/sqrt(v) + eps",
}


@dataclass(frozen=True)
class Trajectory:
    """One wrong way of moving the weights: the kernel's codes and the catalogue labels."""

    labels: tuple[str, ...]
    gradient: str = "right"
    update: str = "course"
    reset: bool = False
    full_batch: bool = False
    neighbour: bool = False
    seed: int | None = None  # a shuffled order from default_rng(seed)
    learning_rate: float | None = None


def _gradients() -> list[Trajectory]:
    return [
        Trajectory((), "right"),
        Trajectory(("wrong_derivative@sin",), "abs_cos"),
        Trajectory(("wrong_derivative@sin", "dropped_factor@f3"), "sin_no_f3"),
        Trajectory(("global_w",), "global_w"),
    ]


def trajectories(optimizer: str, learning_rate: float) -> list[Trajectory]:
    """The wrong versions of a course optimizer's run worth training, simplest first."""
    out = _gradients()
    if optimizer == "sgd":
        out += [
            Trajectory(("sign_flip@update",), update="ascent"),
            Trajectory(("off_by_one@update",), neighbour=True),
            Trajectory(("full_batch",), full_batch=True),
            *(Trajectory(("wrong_order",), seed=s) for s in (0, 42)),
            *(
                Trajectory(("wrong_constant@lr",), learning_rate=lr)
                for lr in (0.01, 0.1, 0.001, 0.0001)
                if lr != learning_rate
            ),
        ]
    elif optimizer == "momentum":
        out += [
            Trajectory(("torch_momentum",), update="torch"),
            Trajectory(("cs231n_momentum",), update="cs231n"),
            Trajectory(("state_not_updated",), update="not_updated"),
            Trajectory(("state_per_row",), update="per_row"),
            Trajectory(("state_initial_value",), update="first_gradient"),
            Trajectory(("state_shared",), update="shared"),
            Trajectory(("velocity_previous_gradient",), update="previous_gradient"),
            Trajectory(("state_reset_each_epoch",), reset=True),
            Trajectory(("torch_momentum", "state_reset_each_epoch"), update="torch", reset=True),
        ]
    else:
        out += [
            Trajectory(("bias_correction",), update="bias_correction"),
            Trajectory(("adam_constant_correction",), update="constants"),
            Trajectory(("bias_correction", "t_per_epoch"), update="t_epoch"),
            Trajectory(("bias_correction", "t_per_row"), update="t_row"),
            Trajectory(("bias_correction", "t_per_weight"), update="t_weight"),
            Trajectory(("eps_inside_sqrt",), update="eps_inside"),
            Trajectory(("adam_v_not_squared",), update="v_not_squared"),
            Trajectory(("misplaced@eps",), update="eps_outside"),
            Trajectory(("state_reset_each_epoch",), reset=True),
            *(Trajectory(("wrong_order",), seed=s) for s in (0, 42)),
        ]
    return out


def course_form(config: TrainConfig) -> tuple[str, list[float]] | None:
    """The course optimizer a configuration is (its name and lr, beta1, beta2, eps), or None
    (another optimizer, or a shuffled run: the wrong versions train in file order)."""
    name, h = config.optimizer.name, config.optimizer.hyper
    if config.shuffle:
        return None
    if name == "sgd" and not any(h.get(k) for k in ("momentum", "weight_decay")):
        return "sgd", [float(h["learning_rate"]), 0.0, 0.0, 0.0]
    if name == "momentum":
        return "momentum", [float(h["learning_rate"]), float(h["beta"]), 0.0, 0.0]
    if name == "adam" and not any(h.get(k) for k in ("bias_correction", "amsgrad", "weight_decay")):
        return "adam", [float(h[k]) for k in ("learning_rate", "beta1", "beta2", "eps")]
    return None


def variant_count(config: TrainConfig) -> int:
    """Runs of the case's size the search may train, at most (for the step limits up front)."""
    form = course_form(config)
    if form is None:
        return 0
    return math.ceil(len(trajectories(form[0], form[1][0])) / config.epochs) + FULL_RUNS


_RUNS: OrderedDict[tuple[str, Trajectory, int], tuple[np.ndarray, np.ndarray, int]] = OrderedDict()
_RUNS_KEPT = 512


def _run(
    config: TrainConfig, form: tuple[str, list[float]], traj: Trajectory, epochs: int, key: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """(losses (6, epochs), final weights, epochs done) of a trajectory; memoized."""
    memo_key = (key, traj, epochs)
    if memo_key in _RUNS:
        _RUNS.move_to_end(memo_key)
        return _RUNS[memo_key]
    X, y, w0, _ = inputs(config)
    n = len(y)
    if traj.seed is None:
        orders = np.arange(n, dtype=np.int64)[np.newaxis]  # file order, every epoch
    else:
        rng = np.random.default_rng(traj.seed)
        orders = np.stack([rng.permutation(n) for _ in range(epochs)]).astype(np.int64)
    name, hyper = form
    h = np.array(hyper, dtype=np.float64)
    if traj.learning_rate is not None:
        h[0] = traj.learning_rate
    losses = np.zeros((len(BOOKKEEPING), epochs))  # the kernel reads the epochs from its shape
    w_out = np.zeros(9)
    done = compiled()(
        np.ascontiguousarray(X, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        np.array(w0, dtype=np.float64),
        orders,
        OPTIMIZER[name],
        h,
        GRADIENT[traj.gradient],
        UPDATE[traj.update],
        traj.reset,
        traj.full_batch,
        traj.neighbour,
        not traj.labels,
        losses,
        w_out,
    )
    _RUNS[memo_key] = (losses, w_out, int(done))
    while len(_RUNS) > _RUNS_KEPT:
        _RUNS.popitem(last=False)
    return _RUNS[memo_key]


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= DIAGNOSIS_RTOL * abs(b) + 1e-15


def variants(
    config: TrainConfig, result: TrainResult, submitted: Mapping[str, Value | None]
) -> list[Variant]:
    """The wrong versions of the case's run that can explain the submission, simplest first.

    Deepening: every trajectory runs one epoch, those matching the submission's first loss (in
    some bookkeeping) two, those still matching all of the case's epochs (within the budget).
    """
    form = course_form(config)
    history = submitted.get("loss_history")
    if form is None or not isinstance(history, list) or not history:
        return []
    key = config.fingerprint()
    paths = trajectories(form[0], form[1][0])
    if config.steps > SHUFFLED_MAX_STEPS:
        paths = [p for p in paths if p.seed is None]
    budget = len(paths) * config.rows + FULL_RUNS * config.steps
    spent = 0
    given = [float(h) for h in history]
    candidates: list[tuple[Trajectory, list[int]]] = [
        (traj, list(range(len(BOOKKEEPING)))) for traj in paths
    ]
    found: dict[Trajectory, tuple[np.ndarray, np.ndarray, int]] = {}
    for depth in sorted({1, min(2, config.epochs), config.epochs}):
        kept = []
        for traj, rows in candidates:
            if spent + depth * config.rows > budget:
                break
            losses, w, done = _run(config, form, traj, depth, key)
            spent += depth * config.rows
            seen = min(depth, done, len(given))
            rows = [
                row for row in rows
                if seen >= 1 and (BOOKKEEPING[row] or traj.labels)
                and all(_near(given[e], float(losses[row, e])) for e in range(seen))
            ]  # fmt: skip
            if rows:
                kept.append((traj, rows))
                found[traj] = (losses, w, done)
        candidates = kept
    out: list[Variant] = []
    for traj, rows in candidates:
        losses, w, done = found[traj]
        for row in rows:
            b = BOOKKEEPING[row]
            labels = (*traj.labels, b) if b else traj.labels
            values: dict[str, Value] = {
                "loss_history": losses[row, :done].tolist(),
                "final_weights": w.tolist(),
            }
            text = "; and ".join(SENTENCES[label] for label in labels)
            out.append(Variant("+".join(labels), text, values, labels))
    out.sort(key=lambda v: len(v.labels))
    return out


def explained(names: Sequence[str]) -> str:
    """The sentences of catalogue labels (for messages and tests)."""
    return "; and ".join(SENTENCES[n] for n in names)
