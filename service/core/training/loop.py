"""Per-sample training (SPEC §5): the compiled loop, the readable reference loop it must equal.

Initial weights are ``default_rng(seed).normal(0, 0.01, 9)`` (always drawn, so the sample order
does not depend on whether initial weights were given); with ``shuffle`` each epoch's order is
``rng.permutation(n)`` from the same generator. An epoch's loss is the mean of the per-row losses
of its forward passes (before each row's update), summed in visiting order, divided by n.

Tested by tests/core/training/test_kernel.py (compiled against the reference, bit for bit).
(Over 250 lines: the reference loop, the compiled loop and the configuration they share.)
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from service.core.dataset import BUILTIN_ROWS, load_dataset
from service.core.errors import NumericalOverflow
from service.core.graph import backward, forward
from service.core.graphs import evaluate
from service.core.graphs.compiled import GraphCache
from service.core.graphs.definition import Graph
from service.core.training import kernel
from service.core.training.clipping import Clipping
from service.core.training.optimizers import Optimizer
from service.core.training.registry import Resolved, resolve

CHUNK_STEPS = 1 << 16  # shuffled runs draw about this many row indices at a time
Observer = Callable[[int, float], None]  # told (epochs done, that epoch's loss) at each pause


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced."""

    loss_history: list[float]
    initial_weights: list[float]
    final_weights: list[float]
    epochs: int
    steps: int
    status: str = "completed"
    diverged_at: dict[str, int] | None = field(default=None)


def initial_weights(seed: int, n_weights: int = 9) -> tuple[np.ndarray, np.random.Generator]:
    """Normal(0, 0.01) initial weights (the course's 9) and the generator, ready for shuffling."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.01, n_weights), rng


Gradient = Callable[[np.ndarray, float, np.ndarray], tuple[float, np.ndarray]]


def _course_gradient(x: Any, y: float, w: np.ndarray) -> tuple[float, np.ndarray]:
    cache = forward(x, y, w.tolist())
    return cache.loss, np.array(backward(cache))


def graph_gradient(graph: Graph) -> Gradient:
    """The readable (loss, dL/dw) of a graph at one sample (NumericalOverflow where not finite)."""

    def gradient(x: np.ndarray, y: float, w: np.ndarray) -> tuple[float, np.ndarray]:
        cache = evaluate.forward(graph, x.tolist(), y, w.tolist())
        grads = evaluate.backward(cache, check_inputs=False).gradients
        return cache.loss, np.array(list(grads.values()), dtype=np.float64)

    return gradient


def orders(n: int, epochs: int, shuffle: bool, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Each epoch's row order: file order, or one fresh permutation per epoch."""
    identity = np.arange(n)
    for _ in range(epochs):
        yield rng.permutation(n) if shuffle else identity


def standardize(X: np.ndarray) -> np.ndarray:
    """Z-score each column with the population std, as the course's features were made."""
    from sklearn.preprocessing import StandardScaler  # imported on first use: it takes seconds

    overflow = NumericalOverflow("standardize", "The features are too large to z-score in float64.")
    try:
        with np.errstate(over="raise", invalid="raise"):
            Z = np.asarray(StandardScaler().fit_transform(X), dtype=np.float64)
    except FloatingPointError:
        raise overflow from None
    if not np.isfinite(Z).all():
        raise overflow
    return Z


def train_reference(
    X: np.ndarray,
    y: np.ndarray,
    w0: np.ndarray,
    optimizer: Optimizer,
    epoch_orders: Iterator[np.ndarray],
    gradient: Gradient = _course_gradient,
) -> TrainResult:
    """Train one weight vector row by row; stop at the first non-finite loss or weight.

    `gradient` is the course graph's readable pass, or `graph_gradient(graph)`'s.
    """
    w = np.array(w0, dtype=np.float64)
    state = optimizer.init(w)
    history: list[float] = []
    steps = 0
    for epoch, order in enumerate(epoch_orders):
        total = 0.0
        for i in order:
            try:
                loss, g = gradient(X[i], float(y[i]), w)
            except NumericalOverflow:
                return _diverged(history, w0, w, epoch, steps)
            total += loss
            new_w, state = optimizer.update(g, state, w)
            if not np.all(np.isfinite(new_w)):
                return _diverged(history, w0, w, epoch, steps)
            w = new_w
            steps += 1
        mean = total / len(order)
        if not math.isfinite(mean):
            return _diverged(history, w0, w, epoch, steps)
        history.append(mean)
    return TrainResult(history, list(map(float, w0)), list(map(float, w)), len(history), steps)


def _diverged(
    history: list[float], w0: np.ndarray, w: np.ndarray, epoch: int, steps: int
) -> TrainResult:
    return TrainResult(
        history,
        list(map(float, w0)),
        list(map(float, w)),
        len(history),
        steps,
        status="diverged",
        diverged_at={"epoch": epoch, "step": steps},
    )


def order_chunks(
    n: int, epochs: int, shuffle: bool, rng: np.random.Generator
) -> Iterator[tuple[int, np.ndarray]]:
    """`orders` in pieces of (epochs, their orders); one row serves every epoch. O(rows) memory."""
    if not shuffle:
        yield epochs, np.arange(n, dtype=np.int64)[np.newaxis]
        return
    per_chunk = max(1, CHUNK_STEPS // n)
    for start in range(0, epochs, per_chunk):
        count = min(per_chunk, epochs - start)
        yield count, np.stack([rng.permutation(n) for _ in range(count)])


def kernel_inputs(optimizer: Resolved, n_weights: int = 9) -> tuple[int, np.ndarray, np.ndarray]:
    """What the kernel takes for an optimizer: its loop's code, parameters and zeroed state."""
    loop = optimizer.loop()
    family, values = kernel.FAMILY[loop], optimizer.kernel_values()
    code, p = kernel.CODES[loop], kernel.flatten(family, values)
    if optimizer.clipping is not None:  # its family's clipping twin, the clipping after p
        code = kernel.CODES[family] + kernel.CLIPPED
        p = np.append(p, optimizer.clipping.kernel_values())
    return code, p, kernel.initial_state(family, values, n_weights)


def train_compiled(
    X: np.ndarray,
    y: np.ndarray,
    w0: np.ndarray,
    optimizer: Resolved,
    epochs: int,
    chunks: Iterator[tuple[int, np.ndarray]],
    slice_steps: int | None = None,
    observe: Observer | None = None,
    loop: Callable[[int], Any] | None = None,
) -> Generator[int, None, TrainResult]:
    """What train_reference returns, computed by the numba kernel (which releases the GIL).

    A generator: with `slice_steps` it pauses after about that many steps (whole epochs), yielding
    the steps done so far, so that a caller can share cores between runs; the result is its return.
    Before each pause `observe` (if given) is told the epochs done and the last epoch's loss.
    `loop` (a graph's Compiled.loop) gives the compiled loop of a code; None runs the course's
    kernel. The graph's loop is compiled (or loaded) on the first next(), in the caller's thread.
    """
    code, p, state = kernel_inputs(optimizer, len(w0))
    if loop is None:
        train_epochs = kernel.compiled()
    else:
        one = loop(code)

        def train_epochs(*args: Any) -> bool:
            return bool(one(*args[:4], *args[5:]))

    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    w = np.array(w0, dtype=np.float64)
    history = np.empty(epochs, dtype=np.float64)
    counters = np.array([0, 0, -1], dtype=np.int64)  # steps, epochs done, diverged epoch
    in_file_order = np.arange(len(y), dtype=np.int64)[np.newaxis]
    per_slice = epochs if slice_steps is None else max(1, slice_steps // max(1, len(y)))
    for count, order in chunks:
        X_c, y_c = X, y
        if count == 1 and len(y) > CHUNK_STEPS:  # an epoch of large data, maybe shuffled: gather
            X_c, y_c = X.take(order[0], axis=0), y.take(order[0])  # its rows, then read in order
            order = in_file_order
        for start in range(0, count, per_slice):
            k = min(per_slice, count - start)
            piece = order if order.shape[0] == 1 else order[start : start + k]
            if not train_epochs(X_c, y_c, piece, k, code, p, w, state, history, counters):
                return _result(history, w0, w, counters)
            if observe is not None:
                done = int(counters[1])
                observe(done, float(history[done - 1]))
            yield int(counters[0])
    return _result(history, w0, w, counters)


def _result(
    history: np.ndarray, w0: np.ndarray, w: np.ndarray, counters: np.ndarray
) -> TrainResult:
    """The TrainResult of the kernel's arrays."""
    steps, done, diverged = (int(c) for c in counters)
    result = TrainResult(history[:done].tolist(), list(map(float, w0)), w.tolist(), done, steps)
    if diverged < 0:
        return result
    return replace(result, status="diverged", diverged_at={"epoch": diverged, "step": steps})


def finish(session: Generator[Any, None, Any]) -> Any:
    """Run a generator to its end; its return value."""
    while True:
        try:
            next(session)
        except StopIteration as stop:
            return stop.value


def _course_sgd() -> Resolved:
    return resolve("sgd")


@dataclass(frozen=True)
class TrainConfig:
    """One training run, resolved: the optimizer (its hyperparameters and clipping), data, start."""

    optimizer: Resolved = field(default_factory=_course_sgd)
    epochs: int = 20
    seed: int = 0
    initial_weights: list[float] | None = None
    shuffle: bool = False
    X: Sequence[Sequence[float]] | np.ndarray | None = None
    y: Sequence[float] | np.ndarray | None = None
    standardize: bool = False
    # Another graph than the course's (None), its compiled code from `cache`; without data, its
    # inputs are the built-in dataset's columns of their names (the caller checks they are).
    graph: Graph | None = None
    cache: GraphCache | None = field(default=None, compare=False, repr=False)

    @classmethod
    def named(
        cls,
        optimizer: str = "sgd",
        hyper: dict[str, Any] | None = None,
        clipping: Clipping | None = None,
        **fields: Any,
    ) -> TrainConfig:
        """A configuration from an optimizer's name, hyperparameters and clipping, resolved."""
        return cls(resolve(optimizer, hyper, clipping), **fields)

    @property
    def rows(self) -> int:
        """Rows of the training data: the custom data's, else the built-in dataset's."""
        return BUILTIN_ROWS if self.y is None else len(self.y)

    @property
    def steps(self) -> int:
        """Per-sample updates the run asks for (rows x epochs)."""
        return self.rows * self.epochs

    def fingerprint(self) -> str:
        """A key equal for equal configurations (data compared by content)."""
        digest = hashlib.sha256(repr(
            (self.optimizer.name, sorted(self.optimizer.hyper.items()), self.epochs, self.seed,
             self.initial_weights, self.shuffle, self.standardize, self.optimizer.clipping)
        ).encode())  # fmt: skip
        if self.graph is not None:
            digest.update(self.graph.id.encode())
        for part in (self.X, self.y):
            if part is not None:
                digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
        return digest.hexdigest()


def inputs(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """X, y, the initial weights, and the generator (ready for shuffling) a configuration uses."""
    graph = config.graph
    if config.X is None or config.y is None:
        data = load_dataset()
        X, y = data.X, data.y
        if graph is not None:
            X = np.ascontiguousarray(X[:, [_COLUMNS.index(name) for name in graph.inputs]])
    else:  # converted here, in the worker thread, not on the event loop
        X = np.asarray(config.X, dtype=np.float64)
        X = standardize(X) if config.standardize else X
        y = np.asarray(config.y, dtype=np.float64)
    w0, rng = initial_weights(config.seed, 9 if graph is None else len(graph.weights))
    if config.initial_weights is not None:
        w0 = np.array(config.initial_weights, dtype=np.float64)
    return X, y, w0, rng


Session = Generator[int, None, TrainResult]


def session(
    config: TrainConfig, slice_steps: int | None = None, observe: Observer | None = None
) -> Session:
    """run(config) as a generator that pauses every ~slice_steps steps (yielding steps done).

    Nothing happens until the first next(): the inputs are converted in the thread that calls it.
    `observe` is told the epochs done and the last epoch's loss at each pause.
    """
    X, y, w0, rng = inputs(config)
    chunks = order_chunks(len(y), config.epochs, config.shuffle, rng)
    epochs = config.epochs
    loop = None
    if config.graph is not None:
        loop = graph_cache(config).get(config.graph).loop
    result = yield from train_compiled(
        X, y, w0, config.optimizer, epochs, chunks, slice_steps, observe, loop
    )
    return result


_COLUMNS = ("f1", "f2", "f3", "f4", "f5")  # the built-in dataset's columns, by name


@cache
def _default_cache() -> GraphCache:
    return GraphCache(Path(tempfile.gettempdir()) / "backprop-graphs")


def graph_cache(config: TrainConfig) -> GraphCache:
    """The compiled-graph cache a configuration uses (its own, else one in the temp folder)."""
    return config.cache if config.cache is not None else _default_cache()


def run(config: TrainConfig, *, reference: bool = False) -> TrainResult:
    """Train a configuration: compiled, or with the readable reference loop."""
    if not reference:
        result: TrainResult = finish(session(config))
        return result
    X, y, w0, rng = inputs(config)
    epoch_orders = orders(len(y), config.epochs, config.shuffle, rng)
    gradient = _course_gradient if config.graph is None else graph_gradient(config.graph)
    return train_reference(X, y, w0, config.optimizer.build(), epoch_orders, gradient)
