"""Graphs as data: first compile time and steady-state training vs gcc -O2 C of the same tape.

For each graph of the set (the `course` preset, `cs231n_neuron`, and a ~50-operation graph), in
one run: the time to compile a new graph (fresh cache folder, numba already warm in the process),
the time to load it back from the disk cache in a fresh process, and the time per training step
(per-sample sgd over the course's 506 rows, min of several runs) of the generated numba code and
of a C translation of the same tape (`gcc -O2 -ffp-contract=off`, same finiteness checks), with
their ratio, and whether both end on the same weights bit for bit.

    python bench/graphs.py [--epochs 20] [--repeats 15]
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np

from service.core.graphs.compiled import GraphCache, gradient_source
from service.core.graphs.definition import Graph, define
from service.core.graphs.presets import builtin
from service.core.graphs.tape import tape

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


def c_source(graph: Graph) -> str:
    """The generated `gradient` and an sgd loop as C, statement by statement from the same tape."""
    t = tape(graph)
    body = []
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
    args = parser.parse_args()
    presets = builtin()
    graphs = {"course": presets["course"], "cs231n_neuron": presets["cs231n_neuron"]}
    graphs["mlp50"] = define(MLP50)
    work = Path(tempfile.mkdtemp(prefix="bench-graphs-"))
    cache = GraphCache(work / "cache")
    cache.get(define({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w*x"}}))  # warm numba
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
        steps = args.epochs * len(y)
        best, history = float("inf"), np.empty(args.epochs)
        for _ in range(args.repeats):
            w = w0.copy()
            start = time.perf_counter()
            assert compiled.train_sgd(X, y, args.epochs, lr, w, history)
            best = min(best, time.perf_counter() - start)
        c_file, exe, data = work / f"{name}.c", work / name, work / f"{name}.bin"
        c_file.write_text(c_source(graph))
        subprocess.run(
            ["gcc", "-O2", "-ffp-contract=off", "-o", str(exe), str(c_file), "-lm"], check=True
        )
        data.write_bytes(X.tobytes() + y.tobytes() + w0.tobytes())
        out = subprocess.run(
            [str(exe), str(data), str(len(y)), str(args.epochs), str(args.repeats), repr(lr)],
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
