"""Training any graph: the compiled loops equal the readable reference bit for bit.

Every optimizer's loop and its clipping twin, on the lecture preset and on hypothesis' random
graphs (tests/core/graphs/strategies.py), shuffled; the course graph is tests/test_kernel.py's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from service.core.graphs.compiled import GraphCache
from service.core.graphs.definition import Graph, define
from service.core.graphs.presets import builtin
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run
from tests.core.graphs.strategies import definitions
from tests.core.training.test_kernel import CLIPPED_OPTIONS, CLIPPINGS, OPTIONS, bits

CACHE = GraphCache(Path(tempfile.mkdtemp(prefix="graph-training-")))


def data(graph: Graph, rows: int = 7, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (rows, len(graph.inputs))), rng.normal(0, 1, rows)


def assert_compiled_equals_reference(
    graph: Graph,
    optimizer: str,
    hyper: dict[str, Any],
    clipping: Clipping | None = None,
    **fields: Any,
) -> Any:
    X, y = data(graph)
    config = TrainConfig.named(
        optimizer, hyper, clipping, graph=graph, cache=CACHE, X=X, y=y, **fields
    )
    compiled, reference = run(config), run(config, reference=True)
    assert bits(compiled) == bits(reference)
    return compiled


NEURON = builtin()["cs231n_neuron"]


@pytest.mark.parametrize(("optimizer", "hyper"), OPTIONS)
def test_every_optimizer_trains_the_lecture_graph_as_the_reference(
    optimizer: str, hyper: dict[str, Any]
) -> None:
    result = assert_compiled_equals_reference(NEURON, optimizer, hyper, epochs=3, shuffle=True)
    assert result.status == "completed"
    assert len(result.final_weights) == 3
    assert result.final_weights != result.initial_weights


@pytest.mark.parametrize(("optimizer", "hyper"), CLIPPED_OPTIONS)
def test_every_clipping_twin_trains_the_lecture_graph_as_the_reference(
    optimizer: str, hyper: dict[str, Any]
) -> None:
    for clipping in CLIPPINGS.values():
        assert_compiled_equals_reference(NEURON, optimizer, hyper, clipping, epochs=2)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(max_nodes=4))
def test_random_graphs_train_as_the_reference_with_every_loop(definition: dict[str, Any]) -> None:
    graph = define(definition)
    for optimizer, hyper in CLIPPED_OPTIONS:
        result = assert_compiled_equals_reference(graph, optimizer, hyper, epochs=2, shuffle=True)
        assert len(result.final_weights) == len(graph.weights)
        assert_compiled_equals_reference(graph, optimizer, hyper, CLIPPINGS["both"], epochs=2)


def test_a_graph_without_data_trains_on_the_dataset_columns_it_names() -> None:
    definition = {
        "inputs": ["f3", "f1"],
        "weights": ["a", "b"],
        "nodes": {"y_pred": "a*f3 + b*f1"},
    }
    graph = define(definition)
    config = TrainConfig.named("adam", {}, graph=graph, cache=CACHE, epochs=2, seed=3)
    compiled, reference = run(config), run(config, reference=True)
    assert bits(compiled) == bits(reference)
    w0 = np.random.default_rng(3).normal(0, 0.01, 2)
    assert compiled.initial_weights == w0.tolist()
    assert compiled.steps == 2 * 506


def test_a_huge_learning_rate_diverges_in_both() -> None:
    result = assert_compiled_equals_reference(
        NEURON, "sgd", {"learning_rate": 1e6}, epochs=5, initial_weights=[50.0, 50.0, 50.0]
    )
    assert result.status == "diverged"


def test_a_graph_s_loops_load_from_disk_in_a_new_cache() -> None:
    graph = define({"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "tanh(w*x)"}})
    root = Path(tempfile.mkdtemp(prefix="graph-reload-"))
    first = GraphCache(root).get(graph)
    assert sum(first.loop(0).stats.cache_misses.values()) == 1  # compiled
    second = GraphCache(root).get(graph)  # a restart: the module and loop come from disk
    assert second is not first
    assert sum(second.loop(0).stats.cache_hits.values()) == 1
