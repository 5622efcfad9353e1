"""A graph's tape as generated Python source for numba, cached on disk by graph id.

The source names values only `v<slot>` and adjoints `d<slot>` (user names appear in comments
only, and those are re-printed from validated trees), pastes each step's template from the op
table and keeps the tape's order, so `gradient` equals the readable evaluator bit for bit:

    gradient(X, y, i, w, g) -> loss at row i, writing dL/dw into g; NaN where the readable
        forward or its weight gradients would raise NumericalOverflow
    train_sgd(X, y, epochs, lr, w, history) -> False if diverged; per-sample w -= lr*g in row
        order, history[e] the epoch's mean loss (the bench's and the tests' training loop)

X (rows x inputs) and y are read-only C arrays, w, g and history writable float64 vectors.
Each graph gets a folder `<root>/<id>/` holding `graph.py`; numba's cache=True keys its files by
that path and the source's stamp, so a file is rewritten only when the generated text changes.
The folder is bounded in bytes (numba's files included), least recently used graphs evicted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from service.core.graphs.definition import Graph
from service.core.graphs.ops import OPS, PRELUDE
from service.core.graphs.tape import Tape, tape
from service.core.training import kernel


def _operands(t: Tape, step_index: int) -> dict[str, str]:
    step = t.steps[step_index]
    out = t.first_step + step_index
    names = {"a": f"v{step.args[0]}", "out": f"v{out}", "g": f"d{out}", "k": f"({step.k!r})"}
    if len(step.args) > 1:
        names["b"] = f"v{step.args[1]}"
    return names


def gradient_source(t: Tape) -> list[str]:
    """The body of `gradient`, line by line."""
    lines = [f"    v{j} = X[i, {j}]" for j in range(t.n_inputs)]
    lines += [f"    v{t.weight(j)} = w[{j}]" for j in range(t.n_weights)]
    lines.append(f"    v{t.target} = y[i]")
    lines += [f"    v{t.target + 1 + j} = {c!r}" for j, c in enumerate(t.constants)]
    for index, step in enumerate(t.steps):
        code = OPS[step.op].forward.format(**_operands(t, index))
        lines.append(f"    v{t.first_step + index} = {code}  # {step.label}")
    checked = [s for s in range(t.first_step + len(t.steps)) if not t.target < s < t.first_step]
    finite = [f"(v{s} - v{s})" for s in checked]  # x - x is 0 if x is finite, else NaN
    lines.append("    if " + " + ".join(finite) + " != 0.0:")
    lines.append("        return nan")
    lines.append(f"    d{t.loss} = 1.0")
    for c in t.backward:
        if not c.weights:
            continue
        code = OPS[t.steps[c.step].op].local[c.operand].format(**_operands(t, c.step))
        lines.append(f"    d{c.target} = " + (f"d{c.target} + ({code})" if c.accumulate else code))
    assigned = {c.target for c in t.backward if c.weights}
    for j in range(t.n_weights):
        lines.append(
            f"    g[{j}] = d{t.weight(j)}" if t.weight(j) in assigned else f"    g[{j}] = 0.0"
        )
    check = [f"(g[{j}] - g[{j}])" for j in range(t.n_weights)]
    dy_pred = f"d{t.output}" if t.output in assigned else "0.0"
    lines.append(f"    if {' + '.join([f'({dy_pred} - {dy_pred})', *check])} != 0.0:")
    lines.append("        return nan")
    lines.append(f"    return v{t.loss}")
    return lines


_SIGNATURES = """
_X = types.Array(types.float64, 2, "C", readonly=True)
_Y = types.Array(types.float64, 1, "C", readonly=True)
_W = types.float64[::1]
_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}
"""

_TRAIN = """

@njit(types.boolean(_X, _Y, types.int64, types.float64, _W, _W), **_OPTIONS)
def train_sgd(X, y, epochs, lr, w, history):
    n = y.shape[0]
    g = np.empty(w.shape[0])
    for e in range(epochs):
        total = 0.0
        for i in range(n):
            loss = gradient(X, y, i, w, g)
            if loss != loss:
                return False
            total += loss
            for j in range(w.shape[0]):
                w[j] = w[j] - lr * g[j]
        history[e] = total / n
    return True
"""


def source(graph: Graph) -> str:
    """The generated module for `graph`."""
    t = tape(graph)
    head = f'"""Generated from graph {graph.id}; do not edit."""\n\nfrom math import nan\n\n'
    # the training loops compiled beside this file inline kernel.py: its text keys their cache
    head += f"# kernel {_kernel_stamp()}\n"
    head += "import numpy as np\n" + PRELUDE + _SIGNATURES
    gradient = "\n\n@njit(types.float64(_X, _Y, types.int64, _W, _W), **_OPTIONS)\n"
    gradient += "def gradient(X, y, i, w, g):\n" + "\n".join(gradient_source(t)) + "\n"
    return head + gradient + _TRAIN


@cache
def _kernel_stamp() -> str:
    """A digest of kernel.py's text: a change rewrites every graph module, so numba recompiles."""
    return hashlib.sha256(Path(kernel.__file__).read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Compiled:
    """A graph's compiled functions (see the module docstring) and where numba caches them.

    `loop(code)` is the graph's training loop `code` (kernel.LOOPS, + kernel.CLIPPED for a
    clipping twin), compiled on first use (or loaded from numba's cache beside `path`).
    """

    graph_id: str
    n_weights: int
    gradient: Any
    train_sgd: Any
    compile_seconds: float  # 0 when the module and its numba cache were already on disk
    path: str = ""
    _loops: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def loop(self, code: int) -> Any:
        """The compiled epoch loop `code` (kernel.LOOP_SIGNATURE): seconds on its first use."""
        with self._lock:  # one compile per loop; other loops of other graphs go on meanwhile
            compiled = self._loops.get(code)
            if compiled is None:
                fn = kernel.graph_loop(code, self.gradient, self.path or None)
                compiled = kernel.jit(fn, kernel.LOOP_SIGNATURE)
                self._loops[code] = compiled
            return compiled

    def loss_and_gradient(self, x: Any, y: float, w: Any) -> tuple[float, np.ndarray]:
        """gradient at one sample, from Python (NaN loss where the readable pass would raise)."""
        X = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(1, -1))
        Y = np.array([y], dtype=np.float64)
        X.setflags(write=False)
        Y.setflags(write=False)
        g = np.empty(self.n_weights)
        return float(self.gradient(X, Y, 0, np.array(w, dtype=np.float64), g)), g


def _write(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, only if it differs (numba keys its cache on the stamp)."""
    if path.exists() and path.read_text() == text:
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class GraphCache:
    """Compiled graphs under `root`, at most `max_bytes` on disk and `max_loaded` in memory."""

    def __init__(self, root: Path | str, max_bytes: int = 256 * 2**20, max_loaded: int = 64):
        self.root = Path(root)
        self.max_bytes, self.max_loaded = max_bytes, max_loaded
        self._loaded: OrderedDict[str, Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, graph: Graph) -> Compiled:
        """The compiled graph: from memory, from the disk cache, or compiled now (seconds)."""
        key = graph.id
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
            compiled = self._load(graph)
            self._loaded[key] = compiled
            if len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
            self._evict(keep=key)
            return compiled

    def _load(self, graph: Graph) -> Compiled:
        folder = self.root / graph.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "graph.py"
        _write(path, source(graph))
        (folder / "used").touch()
        spec = importlib.util.spec_from_file_location(f"_backprop_graph_{graph.id[:24]}", path)
        assert spec is not None
        assert spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # numba's cache finds the module again by name
        start = time.perf_counter()
        try:
            spec.loader.exec_module(module)  # numba compiles here, or loads its cache
        except BaseException:
            del sys.modules[spec.name]
            raise
        seconds = time.perf_counter() - start
        cache_path = module.gradient._cache.cache_path
        (folder / "numba-cache").write_text(str(cache_path))
        n = len(graph.weights)
        return Compiled(graph.id, n, module.gradient, module.train_sgd, seconds, str(path))

    def _evict(self, keep: str) -> None:
        """Remove least recently used graphs until the folder fits in max_bytes."""
        entries = []
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            used = folder / "used"
            numba = folder / "numba-cache"
            extra = Path(numba.read_text()) if numba.exists() else None
            outside = extra is not None and extra.is_dir() and not extra.is_relative_to(folder)
            size = _size(folder) + (_size(extra) if outside and extra is not None else 0)
            stamp = used.stat().st_mtime if used.exists() else 0.0
            entries.append((stamp, folder.name, size, folder, extra))
        total = sum(e[2] for e in entries)
        for _, name, size, folder, extra in sorted(entries):
            if total <= self.max_bytes:
                break
            if name == keep:
                continue
            if extra is not None and extra.name.startswith(name) and extra.is_dir():
                shutil.rmtree(extra, ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
            self._loaded.pop(name, None)
            total -= size
