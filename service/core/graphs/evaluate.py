"""The readable evaluator: a graph's forward and backward pass, one tape step at a time.

Shapes: x has len(graph.inputs) floats, w len(graph.weights), y a float. Plain Python floats and
the table's templates (ops.READABLE): the reference the compiled code is tested against, bit for
bit. forward raises NumericalOverflow naming the first value that is not finite (a node by name,
an inner value by its formula); backward the first gradient that is not (weights, then inputs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.core.errors import InvalidInput, NumericalOverflow
from service.core.graphs.definition import LOSS, OUTPUT, TARGET, Graph
from service.core.graphs.ops import READABLE
from service.core.graphs.tape import Tape, tape


@dataclass(frozen=True)
class Forward:
    """Every slot's value and the adjoints as far as y_pred, kept for the backward pass."""

    graph: Graph
    slots: tuple[float, ...]
    adjoints: dict[int, float]
    values: dict[str, float]  # every node, internal ones too, in computing order
    y_pred: float
    loss: float
    dy_pred: float

    def reported(self) -> dict[str, float]:
        """What /forward answers: the non-internal nodes, then y_pred, loss, dy_pred."""
        out = {name: self.values[name] for name in self.graph.reported if name != OUTPUT}
        return out | {OUTPUT: self.y_pred, LOSS: self.loss, "dy_pred": self.dy_pred}


@dataclass(frozen=True)
class Backward:
    """dL/d(weight) keyed d<weight>, dL/d(input) keyed d<input>, in the definition's order."""

    gradients: dict[str, float]
    input_gradients: dict[str, float]


def _sweep(
    t: Tape, slots: Sequence[float], adjoints: dict[int, float], start: int, stop: int
) -> None:
    """Apply t.backward[start:stop] to `adjoints`."""
    for c in t.backward[start:stop]:
        step = t.steps[c.step]
        a = slots[step.args[0]]
        b = slots[step.args[1]] if len(step.args) > 1 else 0.0
        out, g = slots[t.first_step + c.step], adjoints[t.first_step + c.step]
        value = READABLE[step.op].local[c.operand](a, b, out, g, step.k)
        adjoints[c.target] = adjoints[c.target] + value if c.accumulate else value


def forward(graph: Graph, x: Sequence[float], y: float, w: Sequence[float]) -> Forward:
    """Every node's value, y_pred, loss and dy_pred = dloss/dy_pred at one sample."""
    t = tape(graph)
    if len(x) != t.n_inputs or len(w) != t.n_weights:
        raise InvalidInput(
            f"the graph takes {t.n_inputs} inputs and {t.n_weights} weights, "
            f"not {len(x)} and {len(w)}"
        )
    slots = [*map(float, x), *map(float, w), float(y), *t.constants]
    for name, value in zip((*graph.inputs, *graph.weights, TARGET), slots, strict=False):
        if not math.isfinite(value):
            raise NumericalOverflow(name)
    for step in t.steps:
        a = slots[step.args[0]]
        b = slots[step.args[1]] if len(step.args) > 1 else 0.0
        value = READABLE[step.op].forward(a, b, step.k)
        if not math.isfinite(value):
            raise NumericalOverflow(step.label)
        slots.append(value)
    adjoints = {t.loss: 1.0}
    _sweep(t, slots, adjoints, 0, t.dy_pred_after)
    dy_pred = adjoints.get(t.output, 0.0)
    if not math.isfinite(dy_pred):
        raise NumericalOverflow("dy_pred")
    values = {name: slots[slot] for name, slot in t.nodes.items() if name != LOSS}
    return Forward(graph, tuple(slots), adjoints, values, values[OUTPUT], slots[t.loss], dy_pred)


def backward(cache: Forward, *, check_inputs: bool = True) -> Backward:
    """The rest of the reverse sweep: the weights' and the inputs' gradients.

    check_inputs=False checks only the weights' (what training and the compiled code need).
    """
    graph, t = cache.graph, tape(cache.graph)
    adjoints = dict(cache.adjoints)
    _sweep(t, cache.slots, adjoints, t.dy_pred_after, len(t.backward))
    gradients = {f"d{w}": adjoints.get(t.weight(j), 0.0) for j, w in enumerate(graph.weights)}
    inputs = {f"d{x}": adjoints.get(j, 0.0) for j, x in enumerate(graph.inputs)}
    for name, g in (gradients | inputs if check_inputs else gradients).items():
        if not math.isfinite(g):
            raise NumericalOverflow(name)
    return Backward(gradients, inputs)


def node_gradients(cache: Forward) -> dict[str, float]:
    """dL/d(value) for every named value: inputs, weights, nodes (internal ones too) and the loss.

    What the picture writes under each node; a value the loss does not use has gradient 0.
    """
    graph, t = cache.graph, tape(cache.graph)
    adjoints = dict(cache.adjoints)
    _sweep(t, cache.slots, adjoints, t.dy_pred_after, len(t.backward))
    slots = {x: j for j, x in enumerate(graph.inputs)}
    slots |= {w: t.weight(j) for j, w in enumerate(graph.weights)}
    slots |= t.nodes
    return {name: adjoints.get(slot, 0.0) for name, slot in slots.items()}


def loss(graph: Graph, x: Sequence[float], y: float, w: Sequence[float]) -> float:
    """The loss alone (for gradient checks)."""
    return forward(graph, x, y, w).loss
