"""Graphs as data: first compile time and steady-state training vs gcc -O2 C of the same tape.

For each graph of the set (the `course` preset, `cs231n_neuron`, and a ~50-operation graph), in
one run: the time to compile a new graph (fresh cache folder, numba already warm in the process),
the time to load it back from the disk cache in a fresh process, and the time per training step
(per-sample sgd over the course's 506 rows, min of several runs) of the generated numba code and
of a C translation of the same tape (`gcc -O2 -ffp-contract=off`, same finiteness checks), with
their ratio, and whether both end on the same weights bit for bit.

Then, per graph and API optimizer (each default run, whose loop is its fast path when one
applies, plus SGD with Nesterov momentum and Adam with bias correction and AMSGrad for the
families' general loops): the service's compiled epoch loop (the course's kernel for `course`,
a graph's `Compiled.loop(code)` otherwise) against C of the same loop (the tape's gradient, the
kernel's update rule of that loop translated line by line, the same divergence checks), each
the minimum of `--repeats` runs of `--epochs` epochs from the same start; the ratio against the
target (<= 1.2x for the course, <= 1.5x for other graphs) and whether both end on the same
weights and epoch losses bit for bit. The C is a library called through ctypes (~1 us a call, on
runs of ~1 ms), its runs interleaved with numba's.

    python bench/graphs.py [--epochs 20] [--repeats 15] [--only-optimizers]
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from service.core.graphs.compiled import Compiled, GraphCache, gradient_source
from service.core.graphs.definition import Graph, define
from service.core.graphs.presets import builtin
from service.core.graphs.tape import tape
from service.core.training import kernel
from service.core.training.loop import kernel_inputs
from service.core.training.registry import resolve

MLP50 = {
    "inputs": ["f1", "f2", "f3", "f4", "f5"],
    "weights": [f"w{i}" for i in range(1, 12)]
    + ["b1", "b2", "b3"]
    + [f"v{i}" for i in range(1, 9)]
    + ["c"],
    "nodes": {
        "_h1": "tanh(w1*f1 + w2*f2 + w3*f3 + b1)",
        "_h2": "sigmoid(w4*f3 + w5*f4 + w6*f5 + b2)",
        "_h3": "relu(w7*f1 - w8*f5 + b3)",
        "_h4": "sin(w9*f2)*cos(w10*f4)",
        "_h5": "exp(-(f1 - w11)**2)",
        "_h6": "log(1 + _h2*_h2)",
        "_h7": "sqrt(1 + _h1**2)",
        "_h8": "abs(_h3 - _h4)/(1 + _h5)",
        "y_pred": "v1*_h1 + v2*_h2 + v3*_h3 + v4*_h4 + v5*_h5 + v6*_h6 + v7*_h7 + v8*_h8 + c",
    },
}


def _c(node: ast.expr) -> str:
    """A Python expression of the op table's templates, in C."""
    if isinstance(node, ast.BinOp):
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
        return f"({_c(node.left)} {op} {_c(node.right)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_c(node.operand)})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_c(a) for a in node.args]
        if node.func.id == "div":
            return f"({args[0]} / {args[1]})"
        return f"{node.func.id}({', '.join(args)})"
    if isinstance(node, ast.IfExp):
        return f"({_c(node.test)} ? {_c(node.body)} : {_c(node.orelse)})"
    if isinstance(node, ast.Compare):
        op = {ast.Gt: ">", ast.Lt: "<", ast.NotEq: "!="}[type(node.ops[0])]
        return f"({_c(node.left)} {op} {_c(node.comparators[0])})"
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, float)
        return repr(node.value)
    if isinstance(node, ast.Name):
        return {"nan": "NAN"}.get(node.id, node.id)
    if isinstance(node, ast.Subscript):
        return ast.unparse(node).replace("X[i, ", "X[i * NX + ")
    raise ValueError(ast.dump(node))


def c_gradient(graph: Graph) -> list[str]:
    """The body of the generated `gradient` as C, statement by statement from the tape."""
    t = tape(graph)
    body: list[str] = []
    for line in gradient_source(t):
        text = line.strip()
        if text.startswith("if "):
            body.append(f"    if ({_c(ast.parse(text[3:-1], mode='eval').body)}) {{")
        elif text == "return nan":
            body.append("        return NAN; }")
        elif text.startswith("return "):
            body.append(f"    return {text[7:]};")
        else:
            target, expr = text.split(" = ", 1)
            expr = expr.split("  #")[0]
            declare = "" if target.startswith("g[") else "double "
            redeclared = target.startswith("d") and f"double {target} =" in "\n".join(body)
            lhs = target if redeclared or not declare else f"double {target}"
            lhs = lhs.replace("X[i, ", "X[i * NX + ")
            value = _c(ast.parse(expr, mode="eval").body)
            body.append(f"    {lhs} = {value};")
    return body


def c_source(graph: Graph) -> str:
    """The generated `gradient` and an sgd loop as C, statement by statement from the same tape."""
    t = tape(graph)
    body = c_gradient(graph)
    return f"""#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define NX {t.n_inputs}
#define NW {t.n_weights}
static inline double powi(double x, double k) {{
    double r = 1.0;
    while (k >= 1.0) {{ r = r * x; k -= 1.0; }}
    return r;
}}
static double gradient(const double *X, const double *y, long i, const double *w, double *g) {{
{chr(10).join(body)}
}}
static int train(const double *X, const double *y, long n, long epochs, double lr, double *w) {{
    double g[NW];
    for (long e = 0; e < epochs; e++)
        for (long i = 0; i < n; i++) {{
            double loss = gradient(X, y, i, w, g);
            if (loss != loss) return 0;
            for (int j = 0; j < NW; j++) w[j] = w[j] - lr * g[j];
        }}
    return 1;
}}
int main(int argc, char **argv) {{
    long n = atol(argv[2]), epochs = atol(argv[3]), repeats = atol(argv[4]);
    double lr = atof(argv[5]);
    double *X = malloc(sizeof(double) * n * NX), *y = malloc(sizeof(double) * n), w0[NW], w[NW];
    FILE *f = fopen(argv[1], "rb");
    if (fread(X, sizeof(double), n * NX, f) != (size_t)(n * NX)) return 2;
    if (fread(y, sizeof(double), n, f) != (size_t)n) return 2;
    if (fread(w0, sizeof(double), NW, f) != NW) return 2;
    double best = 1e300;
    for (long r = 0; r < repeats; r++) {{
        for (int j = 0; j < NW; j++) w[j] = w0[j];
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (!train(X, y, n, epochs, lr, w)) return 3;
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
        if (s < best) best = s;
    }}
    printf("%.9f\\n", best);
    for (int j = 0; j < NW; j++) printf("%a\\n", w[j]);
    return 0;
}}
"""


def dataset(columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The course's rows, the first `columns` features as inputs."""
    text = resources.files("service.data").joinpath("backprop_data.csv").read_text()
    table = np.array([[float(v) for v in line.split(",")] for line in text.split()[1:]])
    X = np.ascontiguousarray(table[:, :columns])
    y = np.ascontiguousarray(table[:, 5])
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--only-optimizers", action="store_true", help="skip the compile and sgd table"
    )
    args = parser.parse_args()
    presets = builtin()
    graphs = {"course": presets["course"], "cs231n_neuron": presets["cs231n_neuron"]}
    graphs["mlp50"] = define(MLP50)
    work = Path(tempfile.mkdtemp(prefix="bench-graphs-"))
    cache = GraphCache(work / "cache")
    cache.get(define({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w*x"}}))  # warm numba
    if not args.only_optimizers:
        compile_and_sgd_table(graphs, cache, work, args.epochs, args.repeats)
    optimizer_table(graphs, cache, work, args.epochs, args.repeats)


def compile_and_sgd_table(
    graphs: dict[str, Graph], cache: GraphCache, work: Path, epochs: int, repeats: int
) -> None:
    """Compile and reload times, and the generated sgd loop vs C of it, per graph."""
    print(f"{'graph':14} {'ops':>4} {'compile s':>9} {'reload s':>8} {'numba ns/step':>13} "
          f"{'C ns/step':>9} {'ratio':>6} {'same w':>6}")  # fmt: skip
    for name, graph in graphs.items():
        t = tape(graph)
        X, y = dataset(t.n_inputs)
        w0 = np.random.default_rng(0).normal(0, 0.1, t.n_weights)
        lr = 1e-3 if name == "course" else 1e-4
        compiled = cache.get(graph)
        reload = subprocess.run(
            [sys.executable, "-c", RELOAD, str(work / "cache"), name],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        steps = epochs * len(y)
        best, history = float("inf"), np.empty(epochs)
        for _ in range(repeats):
            w = w0.copy()
            start = time.perf_counter()
            assert compiled.train_sgd(X, y, epochs, lr, w, history)
            best = min(best, time.perf_counter() - start)
        c_file, exe, data = work / f"{name}.c", work / name, work / f"{name}.bin"
        c_file.write_text(c_source(graph))
        subprocess.run(
            ["gcc", "-O2", "-ffp-contract=off", "-o", str(exe), str(c_file), "-lm"], check=True
        )
        data.write_bytes(X.tobytes() + y.tobytes() + w0.tobytes())
        out = subprocess.run(
            [str(exe), str(data), str(len(y)), str(epochs), str(repeats), repr(lr)],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        c_best, c_w = float(out[0]), [float.fromhex(v) for v in out[1:]]
        same = [v.hex() for v in c_w] == [v.hex() for v in w]
        n_ops = len(t.steps)
        print(
            f"{name:14} {n_ops:>4} {compiled.compile_seconds:>9.2f} {reload:>8} "
            f"{1e9 * best / steps:>13.1f} {1e9 * c_best / steps:>9.1f} {best / c_best:>6.2f} "
            f"{'yes' if same else 'NO':>6}"
        )


# The optimizer runs timed per graph: (label, optimizer, hyperparameters). The default runs take
# their fast-path loops (vanilla sgd, the course's Adam); the two extra runs the sgd and adam
# families' general loops.
RUNS: tuple[tuple[str, str, dict[str, float | bool]], ...] = (
    ("sgd", "sgd", {}),
    ("sgd nesterov", "sgd", {"momentum": 0.9, "nesterov": True}),
    ("momentum", "momentum", {}),
    ("adam", "adam", {}),
    ("adam bc+ams", "adam", {"bias_correction": True, "amsgrad": True}),
    ("adamw", "adamw", {}),
    ("rmsprop", "rmsprop", {}),
    ("adagrad", "adagrad", {}),
)

# kernel.py's update rules in C, one function per loop (kernel.LOOPS), the same float operations
# in the same order: p the family's parameters (kernel.PARAMETERS), state its (4, NW) slots.
C_UPDATES = """
static inline void update_vanilla(const double *p, long t, const double *g, const double *w,
                                  double *state, double *out) {
    double lr = p[0];
    for (int j = 0; j < NW; j++) out[j] = w[j] - lr * g[j];
}
static inline void update_sgd(const double *p, long t, const double *g, const double *w,
                              double *state, double *out) {
    double lr = p[0], momentum = p[1], dampening = p[2], nesterov = p[3], weight_decay = p[4];
    double *b = state;
    for (int j = 0; j < NW; j++) {
        double gj = g[j];
        if (weight_decay != 0.0) gj = gj + weight_decay * w[j];
        if (momentum != 0.0) {
            b[j] = t == 1 ? gj : momentum * b[j] + (1.0 - dampening) * gj;
            gj = nesterov != 0.0 ? gj + momentum * b[j] : b[j];
        }
        out[j] = w[j] - lr * gj;
    }
}
static inline void update_momentum(const double *p, long t, const double *g, const double *w,
                                   double *state, double *out) {
    double lr = p[0], beta = p[1];
    double *m = state;
    for (int j = 0; j < NW; j++) {
        m[j] = beta * m[j] + (1.0 - beta) * g[j];
        out[j] = w[j] - lr * m[j];
    }
}
static inline void update_adam(const double *p, long t, const double *g, const double *w,
                               double *state, double *out) {
    double lr = p[0], beta1 = p[1], beta2 = p[2], eps = p[3];
    double bias_correction = p[4], amsgrad = p[5], weight_decay = p[6], decoupled = p[7];
    double *m = state, *v = state + NW, *v_max = state + 2 * NW;
    double step_size = lr, root = 1.0;
    if (bias_correction != 0.0) {
        step_size = lr / (1.0 - pow(beta1, (double)t));
        root = sqrt(1.0 - pow(beta2, (double)t));
    }
    double shrink = 1.0 - lr * weight_decay;
    for (int j = 0; j < NW; j++) {
        double gj = g[j], wj = w[j];
        if (weight_decay != 0.0) {
            if (decoupled != 0.0) wj = wj * shrink;
            else gj = gj + weight_decay * wj;
        }
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj;
        v[j] = beta2 * v[j] + (1.0 - beta2) * (gj * gj);
        double vj = v[j];
        if (amsgrad != 0.0) {
            if (!(v_max[j] >= vj || v_max[j] != v_max[j])) v_max[j] = vj;
            vj = v_max[j];
        }
        if (bias_correction != 0.0) out[j] = wj - step_size * (m[j] / (sqrt(vj) / root + eps));
        else out[j] = wj - lr * m[j] / (sqrt(vj) + eps);
    }
}
static inline void update_course_adam(const double *p, long t, const double *g, const double *w,
                                      double *state, double *out) {
    double lr = p[0], beta1 = p[1], beta2 = p[2], eps = p[3];
    double *m = state, *v = state + NW;
    for (int j = 0; j < NW; j++) {
        double gj = g[j];
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj;
        v[j] = beta2 * v[j] + (1.0 - beta2) * (gj * gj);
        out[j] = w[j] - lr * m[j] / (sqrt(v[j]) + eps);
    }
}
static inline void update_rmsprop(const double *p, long t, const double *g, const double *w,
                                  double *state, double *out) {
    double lr = p[0], alpha = p[1], eps = p[2], momentum = p[3], centered = p[4];
    double weight_decay = p[5];
    double *sq = state, *g_avg = state + NW, *buf = state + 2 * NW;
    for (int j = 0; j < NW; j++) {
        double gj = g[j], avg;
        if (weight_decay != 0.0) gj = gj + weight_decay * w[j];
        sq[j] = alpha * sq[j] + (1.0 - alpha) * (gj * gj);
        if (centered != 0.0) {
            g_avg[j] = alpha * g_avg[j] + (1.0 - alpha) * gj;
            avg = sqrt(sq[j] - g_avg[j] * g_avg[j]) + eps;
        } else {
            avg = sqrt(sq[j]) + eps;
        }
        if (momentum > 0.0) {
            buf[j] = momentum * buf[j] + gj / avg;
            out[j] = w[j] - lr * buf[j];
        } else {
            out[j] = w[j] - lr * (gj / avg);
        }
    }
}
static inline void update_adagrad(const double *p, long t, const double *g, const double *w,
                                  double *state, double *out) {
    double lr = p[0], lr_decay = p[1], eps = p[2], weight_decay = p[4];
    double *total = state;
    double clr = lr / (1.0 + (double)(t - 1) * lr_decay);
    for (int j = 0; j < NW; j++) {
        double gj = g[j];
        if (weight_decay != 0.0) gj = gj + weight_decay * w[j];
        total[j] = total[j] + gj * gj;
        out[j] = w[j] - clr * (gj / (sqrt(total[j]) + eps));
    }
}
"""


def c_loop_source(graph: Graph, loop: str) -> str:
    """C of kernel._loop around the tape's gradient and loop `loop`'s update (no clipping): a
    library exporting `train` (returns 0 if diverged), called through ctypes."""
    t = tape(graph)
    body = c_gradient(graph)
    return f"""#include <math.h>
#define NX {t.n_inputs}
#define NW {t.n_weights}
static inline double powi(double x, double k) {{
    double r = 1.0;
    while (k >= 1.0) {{ r = r * x; k -= 1.0; }}
    return r;
}}
static double gradient(const double *X, const double *y, long i, const double *w, double *g) {{
{chr(10).join(body)}
}}
{C_UPDATES}
int train(const double *X, const double *y, long n, long epochs, const double *p,
          double *w, double *state, double *history) {{
    double g[NW], out[NW];
    long steps = 0;
    for (long e = 0; e < epochs; e++) {{
        double total = 0.0;
        for (long i = 0; i < n; i++) {{
            double loss = gradient(X, y, i, w, g);
            if (loss != loss) return 0;
            total += loss;
            update_{loop}(p, steps + 1, g, w, state, out);
            double check = 0.0;
            for (int j = 0; j < NW; j++) check += out[j] - out[j];
            if (check != 0.0) return 0;
            for (int j = 0; j < NW; j++) w[j] = out[j];
            steps++;
        }}
        double mean = total / n;
        if (mean - mean != 0.0) return 0;
        history[e] = mean;
    }}
    return 1;
}}
"""


def numba_loop(name: str, compiled: Compiled, code: int) -> Callable[..., Any]:
    """The service's compiled loop `code` for graph `name`, called with the loop's arguments."""
    if name != "course":
        return compiled.loop(code)  # type: ignore[no-any-return]
    course = kernel.compiled()  # the service trains the course on its own kernel, code an arg

    def train(*args: Any) -> bool:
        return bool(course(*args[:4], code, *args[4:]))

    return train


def c_loop(graph: Graph, loop: str, stem: Path) -> Any:
    """C of loop `loop` around `graph`'s gradient, built with gcc -O2 and loaded."""
    Path(f"{stem}.c").write_text(c_loop_source(graph, loop))
    flags = ["-O2", "-ffp-contract=off", "-shared", "-fPIC"]
    subprocess.run(["gcc", *flags, "-o", f"{stem}.so", f"{stem}.c", "-lm"], check=True)
    library = ctypes.CDLL(f"{stem}.so")
    pointer = ctypes.POINTER(ctypes.c_double)
    library.train.argtypes = [pointer, pointer, ctypes.c_long, ctypes.c_long, *[pointer] * 4]
    library.train.restype = ctypes.c_int
    return library.train


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _at(a: np.ndarray) -> Any:
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def optimizer_table(
    graphs: dict[str, Graph], cache: GraphCache, work: Path, epochs: int, repeats: int
) -> None:
    """The per-optimizer table: the service's loop vs C of the same loop, per graph, their
    repeats interleaved (so that noise from the machine's other work hits both alike)."""
    print()
    print(f"{'graph':14} {'optimizer':13} {'loop':12} {'numba ns/step':>13} {'C ns/step':>9} "
          f"{'ratio':>6} {'target':>6} {'same w+loss':>11}")  # fmt: skip
    for name, graph in graphs.items():
        t = tape(graph)
        X, y = dataset(t.n_inputs)
        w0 = np.random.default_rng(0).normal(0, 0.1, t.n_weights)
        orders = _readonly(np.arange(len(y), dtype=np.int64)[np.newaxis])
        compiled = cache.get(graph)
        target = 1.2 if name == "course" else 1.5
        for label, optimizer, hyper in RUNS:
            resolved = resolve(optimizer, hyper)
            code, p, state0 = kernel_inputs(resolved, t.n_weights)
            p = _readonly(p)
            ours = numba_loop(name, compiled, code)
            theirs = c_loop(graph, resolved.loop(), work / f"{name}-{resolved.loop()}")
            best, c_best = float("inf"), float("inf")
            for _ in range(repeats):
                w, state, history = w0.copy(), state0.copy(), np.zeros(epochs)
                counters = np.zeros(3, dtype=np.int64)
                start = time.perf_counter()
                done = bool(ours(X, y, orders, epochs, p, w, state, history, counters))
                best = min(best, time.perf_counter() - start)
                c_w, c_state, c_history = w0.copy(), state0.copy(), np.zeros(epochs)
                c_args = (_at(X), _at(y), len(y), epochs, _at(p), _at(c_w), _at(c_state))
                start = time.perf_counter()
                c_done = bool(theirs(*c_args, _at(c_history)))
                c_best = min(c_best, time.perf_counter() - start)
            same = (
                done == c_done
                and [float(v).hex() for v in c_w] == [float(v).hex() for v in w]
                and [float(v).hex() for v in c_history] == [float(v).hex() for v in history]
            )
            steps = epochs * len(y)
            ratio = best / c_best
            verdict = ("ok" if ratio <= target else "OVER") + ("" if done else " div")
            print(
                f"{name:14} {label:13} {kernel.loop_name(code):12} {1e9 * best / steps:>13.1f} "
                f"{1e9 * c_best / steps:>9.1f} {ratio:>6.2f} {verdict:>6} "
                f"{'yes' if same else 'NO':>11}"
            )


RELOAD = """
import sys, time
start = time.perf_counter()
from service.core.graphs.compiled import GraphCache
from service.core.graphs.presets import builtin
sys.path.insert(0, "bench")
from graphs import MLP50
from service.core.graphs.definition import define
name = sys.argv[2]
graph = define(MLP50) if name == "mlp50" else builtin()[name]
GraphCache(sys.argv[1]).get(graph)
print(f"{time.perf_counter() - start:.2f}")
"""

if __name__ == "__main__":
    main()
