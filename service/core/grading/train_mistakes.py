"""Wrong versions of training (SPEC §5), any graph's, searched compiled, to say why a run differs.

The catalogue (train_catalogue.CATALOGUE, data) lists the wrong ways of training for every
optimizer the service trains; ``trajectories(config)`` keeps those that change the case's run,
each combined with every way of booking the epoch's loss (``BOOKKEEPING``: the sum, the last row,
the MSE of the wrong vector, after the updates, never reset) at no extra cost: one compiled run
(``train_kernel.compiled(family)``) records every bookkeeping at once. The wrong versions follow
the case's row orders (its shuffle, from its seed) and clip as the case clips.

Bounded: every trajectory first runs one epoch; those whose first epoch matches the submission's
first loss (in some bookkeeping) run two, and those still matching run to the end; the whole
search stops when it has spent ``PROBE_EPOCHS`` epochs per trajectory and ``FULL_RUNS`` times the
case's steps.
Runs are memoized per configuration (a batch of many students' answers to one case pays once).
Another graph (``config.graph``): the same search with the graph's loop (``loop``), compiled on
first use around its gradient; the catalogue's course-backward entries (``Mistake.any_graph``
false: a wrong sin derivative, the dropped f3 factor, the global w) are not searched.

(Over 250 lines: the search, its bounds and memos, the course's and any graph's.)

Tested by tests/core/grading/test_train_mistakes.py, test_train_catalogue.py and
test_train_graphs.py.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from service.core.grading import train_kernel
from service.core.grading.policy import DIAGNOSIS_RTOL, Value, Variant
from service.core.grading.train_catalogue import (
    BOOKKEEPING,
    CATALOGUE,
    FLIP,
    LOSS_SENTENCES,
    SENTENCES,
    Mistake,
)
from service.core.training import kernel
from service.core.training.loop import TrainConfig, TrainResult, graph_cache, inputs

__all__ = ["BOOKKEEPING", "LOSS_SENTENCES", "SENTENCES", "Mistake"]

SHUFFLED_MAX_STEPS = 1_000_000  # a shuffled run keeps its orders (8 bytes a step): bounded
PER_ROW_MAX_ROWS = 100_000  # one state per row: 288 bytes a row
FULL_RUNS = 4  # besides the probes, the search trains at most this many full runs
# Epochs of probes per trajectory the budget allows: many mistakes (a reset, a counter, an order
# reused) leave the first epoch as it is, so the second epoch's probes must fit too.
PROBE_EPOCHS = 2


def settings(config: TrainConfig) -> dict[str, float | bool]:
    """What the catalogue's conditions read: the family's values, clipping and shuffle."""
    return {
        **config.optimizer.kernel_values(),
        "clipping": config.optimizer.clipping is not None,
        "shuffle": config.shuffle,
    }


def family(config: TrainConfig) -> str:
    """The compiled update family (kernel.PARAMETERS) that trains a configuration."""
    return config.optimizer.spec.kernel


def trajectories(config: TrainConfig) -> list[Mistake]:
    """The right run (for the bookkeeping) and every catalogue entry that changes the case's
    run, simplest first (singles before pairs, then in catalogue order)."""
    name, values = config.optimizer.name, settings(config)
    lr = float(values["learning_rate"])
    out = [Mistake((), (name,))]
    for m in CATALOGUE:
        if not m.applies(name, values):
            continue
        if config.graph is not None and not m.any_graph:
            continue  # the course's backward mistakes: another graph's backward has its own
        if any(k == "learning_rate" and v == lr for k, v in m.override):
            continue
        if m.order != "case" and m.order != "file" and config.steps > SHUFFLED_MAX_STEPS:
            continue
        if m.state == "per_row" and config.rows > PER_ROW_MAX_ROWS:
            continue
        out.append(m)
    return sorted(out, key=lambda m: len(m.labels) > 1)


def searched(config: TrainConfig) -> bool:
    """Whether the search can follow the case (a shuffled case's orders are kept in memory)."""
    return not (config.shuffle and config.steps > SHUFFLED_MAX_STEPS)


def variant_count(config: TrainConfig) -> int:
    """Runs of the case's size the search may train, at most (for the step limits up front)."""
    if not searched(config):
        return 0
    return math.ceil(PROBE_EPOCHS * len(trajectories(config)) / config.epochs) + FULL_RUNS


_RUNS: OrderedDict[tuple[str, Mistake, int], tuple[np.ndarray, np.ndarray, int]] = OrderedDict()
_RUNS_KEPT = 512


def _orders(config: TrainConfig, order: str, n: int, epochs: int) -> np.ndarray:
    """The row orders of a trajectory: (epochs, n), or (1, n) for one order every epoch."""
    if order == "file" or (order == "case" and not config.shuffle):
        return np.arange(n, dtype=np.int64)[np.newaxis]
    if order.startswith("seed:"):
        rng = np.random.default_rng(int(order[5:]))
    else:
        rng = inputs(config)[3]  # the case's generator, after its initial weights: its orders
    count = 1 if order == "once" else epochs
    return np.stack([rng.permutation(n) for _ in range(count)]).astype(np.int64)


def _arrays(config: TrainConfig, m: Mistake) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's p (family parameters, overridden), extra and codes for a trajectory."""
    fam = family(config)
    values = dict(config.optimizer.kernel_values())
    clip = config.optimizer.clipping
    decay = float(values.get("weight_decay", 0.0)) if m.decay_after else 0.0
    for key, value in m.override:
        if key == "clipping":
            clip = None
        else:
            values[key] = (not values[key]) if value == FLIP else value
    p = kernel.flatten(fam, values)
    extra = np.array([*(clip.kernel_values() if clip else [0.0] * 4), decay], dtype=np.float64)
    codes = np.array(
        [
            train_kernel.GRADIENT[m.gradient],
            train_kernel.UPDATES[fam][m.update],
            train_kernel.STATE[m.state],
            train_kernel.COUNTER[m.counter],
            m.full_batch,
            m.neighbour,
            not m.labels,
        ],
        dtype=np.int64,
    )
    return p, extra, codes


def loop(config: TrainConfig) -> Any:
    """The compiled wrong-version loop of a configuration's family: the course's, or (another
    graph) one around the graph's compiled gradient, compiled on its first use (seconds)."""
    fam = family(config)
    if config.graph is None:
        return train_kernel.compiled(fam)
    return train_kernel.graph_compiled(graph_cache(config).get(config.graph), fam)


_INPUTS: OrderedDict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()


def _inputs(config: TrainConfig, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, y and w0 of a configuration as the kernel reads them; kept for the last few keys (a
    search's trajectories, and a batch's items, share them)."""
    if key not in _INPUTS:
        X, y, w0, _ = inputs(config)
        X, y = np.array(X, dtype=np.float64, order="C"), np.array(y, dtype=np.float64)
        if config.graph is not None:  # as a graph's compiled gradient takes them
            X.setflags(write=False)
            y.setflags(write=False)
        _INPUTS[key] = (X, y, np.array(w0, dtype=np.float64))
        while len(_INPUTS) > 8:
            _INPUTS.popitem(last=False)
    _INPUTS.move_to_end(key)
    return _INPUTS[key]


def _run(
    config: TrainConfig, m: Mistake, epochs: int, key: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """(losses (7, epochs), final weights, epochs done) of a trajectory; memoized."""
    memo_key = (key, m, epochs)
    if memo_key in _RUNS:
        _RUNS.move_to_end(memo_key)
        return _RUNS[memo_key]
    X, y, w0 = _inputs(config, key)
    fam = family(config)
    p, extra, codes = _arrays(config, m)
    losses = np.zeros((len(BOOKKEEPING), epochs))  # the kernel reads the epochs from its shape
    w_out = np.zeros(len(w0))
    done = loop(config)(
        X,
        y,
        w0,
        _orders(config, m.order, len(y), epochs),
        p,
        extra,
        codes,
        kernel.initial_state(fam, config.optimizer.kernel_values(), len(w0)),
        losses,
        w_out,
    )
    _RUNS[memo_key] = (losses, w_out, int(done))
    while len(_RUNS) > _RUNS_KEPT:
        _RUNS.popitem(last=False)
    return _RUNS[memo_key]


def variants(
    config: TrainConfig, result: TrainResult, submitted: Mapping[str, Value | None]
) -> list[Variant]:
    """The wrong versions of the case's run that can explain the submission, simplest first.

    Deepening: every trajectory runs one epoch, those matching the submission's first loss (in
    some bookkeeping) two, those still matching all of the case's epochs (within the budget).
    """
    history = submitted.get("loss_history")
    if not searched(config) or not isinstance(history, list) or not history:
        return []
    key = config.fingerprint()
    paths = trajectories(config)
    budget = PROBE_EPOCHS * len(paths) * config.rows + FULL_RUNS * config.steps
    spent = 0
    given = np.array([float(h) for h in history])
    every_row = np.arange(len(BOOKKEEPING))
    candidates: list[tuple[Mistake, np.ndarray]] = [(m, every_row) for m in paths]
    found: dict[Mistake, tuple[np.ndarray, np.ndarray, int]] = {}
    for depth in sorted({1, min(2, config.epochs), config.epochs}):
        kept = []
        for m, rows in candidates:
            if spent + depth * config.rows > budget:
                break
            losses, w, done = _run(config, m, depth, key)
            spent += depth * config.rows
            seen = min(depth, done, len(given))
            if seen < 1:
                continue
            near = np.abs(losses[rows, :seen] - given[:seen]) <= (
                DIAGNOSIS_RTOL * np.abs(given[:seen]) + 1e-15
            )
            rows = rows[near.all(axis=1)]
            if not m.labels:
                rows = rows[rows > 0]  # the right run's own bookkeeping is no mistake
            if rows.size:
                kept.append((m, rows))
                found[m] = (losses, w, done)
        candidates = kept
    out: list[Variant] = []
    seen_labels: set[tuple[str, ...]] = set()
    for m, rows in candidates:
        losses, w, done = found[m]
        for row in rows.tolist():
            b = BOOKKEEPING[row]
            labels = (*m.labels, b) if b else m.labels
            if labels in seen_labels:
                continue
            seen_labels.add(labels)
            values: dict[str, Value] = {
                "loss_history": losses[row, :done].tolist(),
                "final_weights": w.tolist(),
            }
            out.append(Variant("+".join(labels), explained(labels), values, labels))
    out.sort(key=lambda v: len(v.labels))
    return out


def explained(names: Sequence[str]) -> str:
    """The sentences of catalogue labels (for messages and tests)."""
    return "; and ".join(SENTENCES[n] for n in names)
