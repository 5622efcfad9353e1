"""The mutation search generated from a graph's tape: anchored on the readable evaluator with no
mutation, and each generated family graded against a student's wrong code written by hand here,
for graphs other than the course's (the CS231n neuron preset, a small graph with fan-out, and
randomly drawn points)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from service.core.grading import derivatives, graph_mistakes, tasks
from service.core.graphs import evaluate
from service.core.graphs.definition import define
from service.core.graphs.presets import builtin

SMALL = define(
    {
        "inputs": ["x0", "x1", "x2"],
        "weights": ["w0", "w1", "w2", "w3"],
        "nodes": {
            "h": "tanh(w0*x0 + w1*x1)",
            "s": "sigmoid(h*w2 + x2)",
            "u": "sin(w3*x2)",
            "y_pred": "h*s + u",
        },
    }
)
CS231N = builtin()["cs231n_neuron"]


def _points(seed: int, count: int = 10) -> list[tuple[list[float], float, list[float]]]:
    rng = random.Random(seed)
    if count > 5:  # and one where cos(w3*x2) < 0
        return [([0.5, -0.3, 2.0], 0.3, [0.4, -0.6, 0.9, 1.3]), *_points(seed, count - 1)]
    return [
        ([rng.uniform(-2, 2) for _ in range(3)], rng.uniform(-2, 2),
         [rng.uniform(-1.5, 1.5) for _ in range(4)])
        for _ in range(count)
    ]  # fmt: skip


# ---- a student's code for SMALL, written by hand: each switch is one wrong line ---------------


def small_forward(x: list[float], y: float, w: list[float], mistake: str = "") -> dict[str, float]:
    """A student's forward pass of SMALL."""
    x0, x1, x2 = x
    w0, w1, w2, w3 = [0.1] * 4 if mistake == "global_w" else w
    if mistake == "off_by_one":
        a = w0 * x1 + w1 * x1  # x[1] where x[0] belongs
    elif mistake == "swapped":
        a = w0 * x1 + w1 * x0
    else:
        a = w0 * x0 + w1 * x1
    h = 1.0 / (1.0 + math.exp(-a)) if mistake == "tanh_as_sigmoid" else math.tanh(a)
    z = h * w2 if mistake == "dropped_x2" else h * w2 + x2
    s = 1.0 / (1.0 + math.exp(z)) if mistake == "sigmoid_sign" else 1.0 / (1.0 + math.exp(-z))
    u = math.cos(w3 * x2) if mistake == "cos_for_sin" else math.sin(w3 * x2)
    y_pred = h * s + u
    d = y - y_pred
    loss, dy = (0.5 * d * d, -d) if mistake == "half_loss" else (d * d, -2.0 * d)
    return {"h": h, "s": s, "u": u, "y_pred": y_pred, "loss": loss, "dy_pred": dy}


def small_backward(x: list[float], y: float, w: list[float], mistake: str = "") -> dict[str, float]:
    """A student's backward pass of SMALL, from their forward dict."""
    f = small_forward(x, y, w)
    h, s = f["h"], f["s"]
    x0, x1, x2 = x
    w0, w1, w2, w3 = [0.1] * 4 if mistake == "global_w" else w
    dy = f["dy_pred"]
    if mistake == "dy_sign":
        dy = 2.0 * (y - f["y_pred"])
    if mistake == "dy_half":
        dy = -(y - f["y_pred"])
    dh = dy * s
    ds = dy * h
    du = dy
    dsin = math.sin(w3 * x2) if mistake == "sin_derivative" else math.cos(w3 * x2)
    dw3 = du * dsin if mistake == "dropped_x2" else du * dsin * x2
    if mistake == "double_sigmoid":
        sig_s = 1.0 / (1.0 + math.exp(-s))
        dz = ds * sig_s * (1.0 - sig_s)
    else:
        dz = ds * s * (1.0 - s)
    dw2 = dz * w2 if mistake == "own_operand" else dz * h
    if mistake == "overwrite":
        dh = dz * w2  # `=` where `+=` belongs: the y_pred branch is lost
    else:
        dh += dz * w2
    da = dh * (1.0 - h) if mistake == "tanh_1_minus_t" else dh * (1.0 - h * h)
    dw0 = da * x1 if mistake == "off_by_one" else da * x0
    dw1 = da * x1
    return {"dw0": dw0, "dw1": dw1, "dw2": dw2, "dw3": dw3}


def test_the_hand_written_student_is_right_without_a_mistake() -> None:
    for x, y, w in _points(1):
        f = evaluate.forward(SMALL, x, y, w)
        mine = small_forward(x, y, w)
        assert all(math.isclose(mine[k], v, rel_tol=1e-12, abs_tol=1e-15)
                   for k, v in f.reported().items())  # fmt: skip
        g = evaluate.backward(f).gradients
        got = small_backward(x, y, w)
        assert all(math.isclose(got[k], v, rel_tol=1e-12, abs_tol=1e-15) for k, v in g.items())


# ---- no mutation is the graph itself ------------------------------------------------------------


@pytest.mark.parametrize("graph", [SMALL, CS231N, builtin()["course"]], ids=["small", "cs231n",
                                                                          "course"])  # fmt: skip
def test_no_mutation_is_the_readable_evaluator(graph: Any) -> None:
    rng = random.Random(7)
    for _ in range(20):
        x = [rng.uniform(-2, 2) for _ in graph.inputs]
        w = [rng.uniform(-1, 1) for _ in graph.weights]
        y = rng.uniform(-2, 2)
        f = evaluate.forward(graph, x, y, w)
        assert graph_mistakes.forward_values(graph, x, y, w, ()) == f.reported()
        assert graph_mistakes.backward_values(graph, x, y, w, ()) == evaluate.backward(f).gradients


def test_every_edit_changes_some_value_and_names_the_graph() -> None:
    points = _points(2)
    names = set(SMALL.inputs) | set(SMALL.weights) | set(SMALL.nodes) | {"dy_pred", "loss"}
    for kind, edits, values in (
        ("forward", graph_mistakes.forward_edits(SMALL), graph_mistakes.forward_values),
        ("backward", graph_mistakes.backward_edits(SMALL), graph_mistakes.backward_values),
    ):
        assert len({e.key for e in edits}) == len(edits), kind
        for edit in edits:
            right: Callable[..., Any] = values
            changed = any(
                right(SMALL, x, y, w, (edit,)) not in (None, right(SMALL, x, y, w, ()))
                for x, y, w in points
            )
            assert changed, edit.key
            assert any(name in edit.sentence for name in names), edit.sentence


def test_the_wrong_derivative_table_covers_the_smooth_ops_and_is_wrong() -> None:
    from service.core.graphs.ops import READABLE

    assert {"sin", "cos", "tanh", "sigmoid", "exp", "log", "square", "mul", "div"} <= set(
        derivatives.WRONG_DERIVATIVES
    )
    for op, rows in derivatives.WRONG_DERIVATIVES.items():
        right = READABLE[op]
        for row in rows:
            differs = False
            for a in (2.0, -0.7):  # cos(2) < 0; relu and abs are wrong only below 0
                b, k = 1.3, 3.0
                out = right.forward(a, b, k)
                differs |= row.factor(a, b, out, k) != right.local[row.operand](a, b, out, 1.0, k)
            assert differs, (op, row.key)


# ---- each family against the student's wrong code ----------------------------------------------

BACKWARD = [
    ("tanh_1_minus_t", {"wrong_derivative@tanh"}),
    ("sin_derivative", {"wrong_derivative@sin"}),
    ("double_sigmoid", {"double_activation@sigmoid"}),
    ("dropped_x2", {"dropped_factor@x2"}),
    ("dy_sign", {"sign_flip@dy_pred"}),
    ("dy_half", {"wrong_constant@dy_pred"}),
    ("overwrite", {"fanout_overwrite@h"}),
    ("off_by_one", {"off_by_one@x:x0"}),
    ("own_operand", {"wrong_operand@mul"}),
    ("global_w", {"global_w"}),
]


@pytest.mark.parametrize(("mistake", "labels"), BACKWARD, ids=[m for m, _ in BACKWARD])
def test_a_backward_mistake_of_another_graph_is_named(mistake: str, labels: set[str]) -> None:
    for x, y, w in _points(3, 5):
        submitted: dict[str, Any] = small_backward(x, y, w, mistake)
        grade = tasks.grade_point("backward", x, y, w, submitted, graph=SMALL)
        assert not grade.passed
        named = {label for item in grade.items for label in item.labels}
        assert named == labels, (mistake, named)
        wrong = [item for item in grade.items if not item.passed]
        assert all("matches" in item.message for item in wrong)


FORWARD = [
    ("cos_for_sin", {"wrong_op@sin"}),
    ("tanh_as_sigmoid", {"wrong_op@tanh"}),
    ("sigmoid_sign", {"sign_flip@sigmoid"}),
    ("dropped_x2", {"dropped_term@x2"}),
    ("off_by_one", {"off_by_one@x:x0"}),
    ("swapped", {"swapped_operands@w0*x0 + w1*x1"}),
    ("half_loss", {"wrong_constant@loss"}),
    ("global_w", {"global_w"}),
]


@pytest.mark.parametrize(("mistake", "labels"), FORWARD, ids=[m for m, _ in FORWARD])
def test_a_forward_mistake_of_another_graph_is_named(mistake: str, labels: set[str]) -> None:
    for x, y, w in _points(4, 5):
        submitted: dict[str, Any] = small_forward(x, y, w, mistake)
        grade = tasks.grade_point("forward", x, y, w, submitted, graph=SMALL)
        assert not grade.passed
        named = {label for item in grade.items for label in item.labels}
        assert named == labels, (mistake, named)


def test_a_pair_of_mistakes_is_named_in_both_parts() -> None:
    x, y, w = _points(5, 1)[0]
    f = small_forward(x, y, w)
    s = f["s"]
    right = small_backward(x, y, w)
    wrong = small_backward(x, y, w, "tanh_1_minus_t")
    # and the y_pred branch overwritten as well: dh = dz*w2 only, with tanh' as 1 - h
    dz = f["dy_pred"] * f["h"] * s * (1.0 - s)
    da = dz * w[2] * (1.0 - f["h"])
    both = {**wrong, "dw0": da * x[0], "dw1": da * x[1]}
    assert both != right
    grade = tasks.grade_point("backward", x, y, w, dict(both), graph=SMALL)
    named = {label for item in grade.items for label in item.labels}
    assert named == {"wrong_derivative@tanh", "fanout_overwrite@h"}


# ---- the CS231n neuron, staged as in the lecture ------------------------------------------------


def cs231n_backward(x: list[float], w: list[float], mistake: str = "") -> dict[str, float]:
    """The lecture's staged backward of f = 1/(1 + e^-(w0*x0 + w1*x1 + w2)), loss = f."""
    x0, x1 = x
    w0, w1, w2 = [0.1] * 3 if mistake == "global_w" else w
    dot = w0 * x0 + w1 * x1 + w2
    e = math.exp(-dot)
    den = 1.0 + e
    dden = -1.0 / (den * den)
    de = dden
    dneg = de if mistake == "exp_derivative" else de * e
    ddot = -dneg
    dw0 = ddot * x1 if mistake == "off_by_one" else ddot * x0
    if mistake == "own_operand":
        dw0 = ddot * w0
    return {"dw0": dw0, "dw1": ddot * x1, "dw2": ddot}


CS231N_MISTAKES = [
    ("exp_derivative", {"wrong_derivative@exp"}),
    ("off_by_one", {"off_by_one@x:x0"}),
    ("own_operand", {"wrong_operand@mul"}),
    ("global_w", {"global_w"}),
]


@pytest.mark.parametrize(
    ("mistake", "labels"), CS231N_MISTAKES, ids=[m for m, _ in CS231N_MISTAKES]
)
def test_a_cs231n_backward_mistake_is_named(mistake: str, labels: set[str]) -> None:
    x, w = [-1.0, -2.0], [2.0, -3.0, -3.0]
    assert tasks.grade_point("backward", x, 0.0, w, cs231n_backward(x, w), graph=CS231N).passed
    grade = tasks.grade_point(
        "backward", x, 0.0, w, dict(cs231n_backward(x, w, mistake)), graph=CS231N
    )
    assert not grade.passed
    named = {label for item in grade.items for label in item.labels}
    if mistake == "global_w":  # the staged code recomputes den at the global w: -1/den^2, where
        # the chain rule reads the forward's f/den; the search names that part too
        assert labels <= named, named
    else:
        assert named == labels, (mistake, named)


def test_the_search_is_memoized_per_case() -> None:
    x, y, w = _points(6, 1)[0]
    first = graph_mistakes.backward_variants(SMALL, x, y, w)
    assert graph_mistakes.backward_variants(SMALL, list(x), y, list(w)) is first
    assert len(first) <= graph_mistakes.MAX_SETS
