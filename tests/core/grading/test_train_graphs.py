"""The training catalogue on another graph than the course's: the wrong-version loop compiled
around the graph's gradient equals the case's run bit for bit when unmutated (every optimizer,
shuffled, clipped; random graphs too), and every graph-independent entry, written as a student's
loop on the graph's readable gradient (service/core/graphs/evaluate.py), is named."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.core.grading import tasks, train_mistakes
from service.core.grading.train_catalogue import CATALOGUE, Mistake
from service.core.graphs import evaluate
from service.core.graphs.definition import Graph, define
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run
from tests.core.grading.test_train_catalogue import PAIRS, SAME_AS, _case, student
from tests.core.graphs.strategies import definitions

# a graph of three dataset columns and four weights: a weight that fans out, tanh and sigmoid
GRAPH = define(
    {
        "inputs": ["f1", "f3", "f4"],
        "weights": ["a", "b", "c", "d"],
        "nodes": {
            "_z": "a*f1 + b*f3",
            "h": "tanh(_z)",
            "y_pred": "h + c*sigmoid(d*f4 + a)",
        },
    }
)
COLUMNS = [0, 2, 3]
W0 = [0.8, 0.5, -1.1, 0.7]


def graph_case(m: Mistake, optimizer: str, graph: Graph = GRAPH) -> TrainConfig:
    """The catalogue test's case of an entry, on `graph` (its columns of the same rows)."""
    case = _case(m, optimizer)
    return replace(case, graph=graph, initial_weights=W0, X=np.asarray(case.X)[:, COLUMNS])


def readable(graph: Graph) -> Any:
    """The student's gradient: the graph's readable forward and backward."""

    def grad(x: Any, y: float, w: list[float], mistakes: set[str]) -> Any:
        result = evaluate.forward(graph, x, y, w)
        gradients = evaluate.backward(result, check_inputs=False).gradients
        return {"loss": result.loss}, list(gradients.values())

    return grad


def _trainer(configs: Any) -> list[Any]:
    return [run(c) for c in configs]


GRAPH_PAIRS = [
    (m, o)
    for m, o in PAIRS
    if m.any_graph and m.applies(o, train_mistakes.settings(graph_case(m, o)))
]
# entries whose numbers on GRAPH are an earlier entry's (the diagnosis names that one)
GRAPH_SAME_AS = dict(SAME_AS)


def _id(pair: tuple[Mistake, str]) -> str:
    m, o = pair
    return f"{o}:{'+'.join(m.labels)}:{m.order}:{m.override}"


@pytest.mark.parametrize("pair", GRAPH_PAIRS, ids=[_id(p) for p in GRAPH_PAIRS])
def test_each_graph_independent_entry_is_named_on_another_graph(
    pair: tuple[Mistake, str],
) -> None:
    m, optimizer = pair
    case = graph_case(m, optimizer)
    history = student(case, m, W0, readable(GRAPH))
    assert history != pytest.approx(run(case).loss_history, rel=1e-6)  # the mistake shows
    grade = tasks.grade_train(case, {"loss_history": history}, _trainer)
    assert not grade.passed
    assert grade.items[0].labels == GRAPH_SAME_AS.get(m.labels, m.labels)


def test_the_right_student_on_another_graph_scores_full() -> None:
    for optimizer in ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"):
        case = graph_case(Mistake((), ()), optimizer)
        right = Mistake((), ())
        history = student(case, right, W0, readable(GRAPH))
        grade = tasks.grade_train(case, {"loss_history": history}, _trainer)
        assert grade.passed, optimizer


def test_only_the_course_s_backward_mistakes_stay_course_only() -> None:
    course_only = {m.labels for m in CATALOGUE if not m.any_graph}
    assert course_only
    assert all(
        {"wrong_derivative@sin", "dropped_factor@f3", "global_w"} & set(labels)
        for labels in course_only
    )
    config = graph_case(Mistake((), ()), "adam")
    paths = train_mistakes.trajectories(config)
    assert all(m.any_graph for m in paths)
    course = train_mistakes.trajectories(replace(config, graph=None))
    assert len(course) - len(paths) == sum(
        1 for m in course if not m.any_graph
    )  # nothing else is dropped


CONFIGS = [
    TrainConfig.named("sgd", {"learning_rate": 0.05}, epochs=2),
    TrainConfig.named("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, epochs=2),
    TrainConfig.named("momentum", None, Clipping(max_norm=0.1, norm_type=1.0), epochs=2),
    TrainConfig.named("adam", {"bias_correction": True, "amsgrad": True}, epochs=2),
    TrainConfig.named("adamw", None, Clipping(0.5, 1.0), epochs=2, shuffle=True, seed=3),
    TrainConfig.named("rmsprop", {"momentum": 0.5, "centered": True}, epochs=2),
    TrainConfig.named("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}, epochs=2),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.optimizer.name)
def test_the_unmutated_trajectory_on_a_graph_is_the_case_run_bit_for_bit(
    config: TrainConfig,
) -> None:
    config = replace(config, graph=GRAPH, initial_weights=W0)  # the dataset's f1, f3, f4
    right = run(config)
    path = train_mistakes.trajectories(config)[0]
    losses, w, done = train_mistakes._run(config, path, 2, config.fingerprint())
    assert done == 2
    assert losses[0].tolist() == right.loss_history
    assert w.tolist() == right.final_weights


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=definitions(max_nodes=3), seed=st.integers(0, 2**16))
def test_random_graphs_train_their_wrong_versions_compiled(
    definition: dict[str, Any], seed: int
) -> None:
    """On a random graph: the unmutated trajectory is the case's run bit for bit, and a student's
    momentum with its buffer reset each epoch, booked as a sum, is named so."""
    graph = define(definition)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (8, len(graph.inputs)))
    y = rng.uniform(-1, 1, 8)
    w0 = rng.uniform(-1, 1, len(graph.weights)).tolist()
    config = TrainConfig.named("momentum", {"learning_rate": 0.05}, epochs=3, X=X, y=y,
                               initial_weights=w0, graph=graph)  # fmt: skip
    right = run(config)
    assume(right.status == "completed")
    path = train_mistakes.trajectories(config)[0]
    losses, w, done = train_mistakes._run(config, path, 3, config.fingerprint())
    assert losses[0, :done].tolist() == right.loss_history
    assert w.tolist() == right.final_weights
    reset = next(m for m in CATALOGUE if m.labels == ("state_reset_each_epoch",)
                 and "momentum" in m.optimizers)  # fmt: skip
    case = replace(config, X=X.tolist(), y=y.tolist())
    history = student(case, reset, w0, readable(graph))
    summed = [h * len(y) for h in history]
    assume(history != pytest.approx(right.loss_history, rel=1e-6))
    grade = tasks.grade_train(config, {"loss_history": summed}, _trainer)
    assert not grade.passed
    assert grade.items[0].labels == ("state_reset_each_epoch", "loss_sum")


def test_a_graph_s_loops_are_stamped_beside_it_and_kept(tmp_path: Any) -> None:
    from service.core.grading import train_kernel
    from service.core.graphs.compiled import GraphCache

    compiled = GraphCache(tmp_path).get(GRAPH)
    train_kernel._GRAPH_LOOPS.pop((compiled.graph_id, "sgd"), None)  # another test's, kept
    loop = train_kernel.graph_compiled(compiled, "sgd")
    assert train_kernel.graph_compiled(compiled, "sgd") is loop
    stub = tmp_path / GRAPH.id / "wrong_versions.py"
    assert train_kernel._stamp() in stub.read_text()
    stub.write_text("# another stamp\n")
    stub.parent.chmod(0o555)  # a read-only folder whose stamp is not this code's: in memory
    try:
        if not os.access(stub.parent, os.W_OK):  # (root writes anyway)
            assert train_kernel._stub(compiled) is None
    finally:
        stub.parent.chmod(0o755)
    assert train_kernel._stub(compiled) == str(stub)
    assert train_kernel._stamp() in stub.read_text()
