"""The generated numba code equals the readable evaluator bit for bit; its disk cache is bounded."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.errors import NumericalOverflow
from service.core.graphs.compiled import GraphCache, source
from service.core.graphs.definition import Graph, define
from service.core.graphs.evaluate import backward, forward
from service.core.graphs.presets import builtin
from tests.core.graphs.strategies import definitions
from tests.core.graphs.test_evaluate import ROWS


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> GraphCache:
    return GraphCache(tmp_path_factory.mktemp("graphs"))


def readable(graph: Graph, x: list[float], y: float, w: list[float]) -> tuple[str, list[str]]:
    """The readable loss and weight gradients as hex, or NaN where it raises."""
    try:
        result = forward(graph, x, y, w)
        grads = backward(result, check_inputs=False)
    except NumericalOverflow:
        return "nan", []
    return result.loss.hex(), [g.hex() for g in grads.gradients.values()]


def assert_compiled_equals_readable(
    cache: GraphCache, graph: Graph, samples: list[tuple[list[float], float, list[float]]]
) -> None:
    compiled = cache.get(graph)
    for x, y, w in samples:
        loss, g = compiled.loss_and_gradient(x, y, w)
        want_loss, want_g = readable(graph, x, y, w)
        got = "nan" if loss != loss else loss.hex()
        assert got == want_loss
        if got != "nan":
            assert [v.hex() for v in g] == want_g


def test_course_compiled_equals_readable_and_spec(cache: GraphCache) -> None:
    course, rng = builtin()["course"], random.Random(3)
    samples = [
        (*ROWS[rng.randrange(506)], [rng.gauss(0, 1.0) for _ in range(9)]) for _ in range(500)
    ]
    samples.append((*ROWS[0], [0.1] * 5 + [800.0] + [0.1] * 3))  # overflows: NaN
    assert_compiled_equals_readable(cache, course, samples)
    loss, _ = cache.get(course).loss_and_gradient(ROWS[0][0], ROWS[0][1], [0.1] * 9)
    assert loss == 0.9298048963072919


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.randoms(use_true_random=False))
def test_random_graphs_compiled_equal_readable(
    definition: dict[str, object], rng: random.Random
) -> None:
    graph = define(definition)
    n, m = len(graph.inputs), len(graph.weights)
    samples = [
        (
            [rng.uniform(-2, 2) for _ in range(n)],
            rng.uniform(-2, 2),
            [rng.uniform(-2, 2) for _ in range(m)],
        )
        for _ in range(200)
    ]
    assert_compiled_equals_readable(CACHE, graph, samples)


CACHE = GraphCache(Path(__import__("tempfile").mkdtemp(prefix="graphs-hypothesis-")))


def test_kinks_and_division_compiled_equal_readable(cache: GraphCache) -> None:
    graph = define(
        {
            "inputs": ["x"],
            "weights": ["a", "b"],
            "nodes": {
                "_r": "relu(a*x) + abs(b*x) + 1/(a - b)",
                "y_pred": "_r**-2 + (a*a + 1)**0.5",
            },
        }
    )
    samples = [
        ([x], 0.5, [a, b])
        for x in (0.0, 1.0, -1.0)
        for a in (0.0, 0.5, -0.5)
        for b in (0.0, 0.5, 1.5)
    ]
    assert_compiled_equals_readable(cache, graph, samples)


def test_sgd_training_equals_the_readable_loop(cache: GraphCache) -> None:
    course = builtin()["course"]
    X = np.array([r[0] for r in ROWS])
    y = np.array([r[1] for r in ROWS])
    X.setflags(write=False)
    y.setflags(write=False)
    w0 = list(np.random.default_rng(0).normal(0, 0.01, 9))
    w, history = np.array(w0), np.empty(2)
    assert cache.get(course).train_sgd(X, y, 2, 0.001, w, history)
    ref, losses = list(w0), []
    for _ in range(2):
        total = 0.0
        for x_row, y_row in ROWS:
            result = forward(course, x_row, y_row, ref)
            total += result.loss
            g = list(backward(result).gradients.values())
            ref = [wj - 0.001 * gj for wj, gj in zip(ref, g, strict=True)]
        losses.append(total / len(ROWS))
    assert [v.hex() for v in w] == [v.hex() for v in ref]
    assert [v.hex() for v in history] == [v.hex() for v in losses]


def test_generated_source_uses_no_user_name_as_identifier() -> None:
    graph = define(
        {
            "inputs": ["__import__", "np"],
            "weights": ["nan", "njit", "types"],
            "nodes": {
                "exp": "exp(nan*__import__)",
                "div": "exp*np + njit",
                "y_pred": "div + types",
            },
        }
    )
    code = source(graph)
    statements = [line.split("#")[0] for line in code.splitlines()]
    for name in ("__import__", "njit*", "exp*", "div +", "types*"):
        assert not any(name in s for s in statements if s.startswith("    v"))
    compiled = GraphCache(Path(__import__("tempfile").mkdtemp())).get(graph)
    loss, g = compiled.loss_and_gradient([0.5, 2.0], 1.0, [0.1, 0.2, 0.3])
    want = backward(forward(graph, [0.5, 2.0], 1.0, [0.1, 0.2, 0.3])).gradients
    assert [v.hex() for v in g] == [v.hex() for v in want.values()]


def test_disk_cache_reloads_without_rewriting_and_evicts_least_recently_used(
    tmp_path: Path,
) -> None:
    graphs = [
        define({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": f"w*x + {i}"}})
        for i in range(3)
    ]
    first = GraphCache(tmp_path)
    first.get(graphs[0])
    module = tmp_path / graphs[0].id / "graph.py"
    stamp = module.stat().st_mtime_ns
    again = GraphCache(tmp_path).get(graphs[0])  # a restart: loads numba's cache
    assert module.stat().st_mtime_ns == stamp
    assert again.loss_and_gradient([2.0], 0.0, [3.0])[0] == 36.0
    one = sum(p.stat().st_size for p in (tmp_path / graphs[0].id).rglob("*") if p.is_file())
    small = GraphCache(tmp_path, max_bytes=int(one * 2.5))
    for graph in graphs[1:]:
        small.get(graph)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert graphs[0].id not in kept
    assert kept == sorted(g.id for g in graphs[1:])


def test_half_powers_compiled_equal_readable(cache: GraphCache) -> None:
    """Regression (hypothesis, 1 ulp): LLVM turns pow(x, 0.5) into sqrt; the readable must too.

    `(2 + x0**2)**0.5` forwards pow(a, 0.5), `(w1 + x1)**1.5` backwards pow(a, 1.5 - 1.0); at
    these points libm's pow(a, 0.5) is an ulp away from sqrt(a).
    """
    graph = define(
        {
            "inputs": ["x0", "x1", "x2"],
            "weights": ["w0", "w1"],
            "nodes": {"y_pred": "w0*(2 + x0**2)**0.5 + (w1 + x1)**1.5 + x2"},
            "loss": "y_pred",
        }
    )
    xs = [-0.7945635969221501, 1.938565796015007, 0.20690343895846963]
    ones = [0.7567359222402006, 0.13804321351176288, 2.6543767170497565]
    assert all(math.pow(2 + x * x, 0.5) != math.sqrt(2 + x * x) for x in xs)
    assert all(math.pow(a, 0.5) != math.sqrt(a) for a in ones)
    samples = [([x, 0.0, 0.25], 0.0, [1.0, a]) for x, a in zip(xs, ones, strict=True)]
    assert_compiled_equals_readable(cache, graph, samples)
    result = forward(graph, [xs[0], 0.0, 0.0], 0.0, [1.0, ones[0]])
    assert result.loss == math.sqrt(2 + xs[0] * xs[0]) + math.pow(ones[0], 1.5)
    assert backward(result).gradients["dw1"] == 1.5 * math.sqrt(ones[0])
