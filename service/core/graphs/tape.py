"""A graph lowered to one straight-line program: forward steps, then adjoint contributions.

Both the readable evaluator and the generated code execute this same list, so they perform the
same float operations in the same order. Slots hold values: the inputs, the weights, `y`, the
constants, then one slot per step. Reverse mode: the loss's adjoint is 1; walking the steps
backwards, each operand that depends on a weight or an input receives the step's local
derivative times the step's adjoint — assigned the first time, `+=` after (a value that fans out
to several steps sums their contributions). Steps whose value the loss never uses get none.

Tested by tests/core/graphs/test_evaluate.py and tests/core/graphs/test_compiled.py.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from service.core.graphs.definition import LOSS, OUTPUT, TARGET, Graph
from service.core.graphs.expression import (
    Binary,
    Call,
    Expr,
    Name,
    Neg,
    Num,
    Power,
    children,
    unparse,
)
from service.core.graphs.ops import BINARY


@dataclass(frozen=True)
class Step:
    """slot[out] = OPS[op].forward(slot[args]..., k); `label` names it if it is not finite."""

    op: str
    args: tuple[int, ...]
    k: float
    label: str


@dataclass(frozen=True)
class Contribution:
    """adjoint[target] (+)= OPS[step.op].local[operand](...) at steps[step]'s values."""

    step: int
    operand: int
    target: int
    accumulate: bool
    weights: bool  # the target depends on a weight: needed for the weight gradients


@dataclass(frozen=True)
class Tape:
    """The program of one graph."""

    n_inputs: int
    n_weights: int
    constants: tuple[float, ...]
    steps: tuple[Step, ...]
    nodes: dict[str, int]  # node name (and "loss") -> slot, in computing order
    backward: tuple[Contribution, ...]
    dy_pred_after: int  # backward[:dy_pred_after] completes y_pred's adjoint

    @property
    def target(self) -> int:
        return self.n_inputs + self.n_weights

    @property
    def first_step(self) -> int:
        return self.target + 1 + len(self.constants)

    def weight(self, j: int) -> int:
        return self.n_inputs + j

    @property
    def loss(self) -> int:
        return self.nodes[LOSS]

    @property
    def output(self) -> int:
        return self.nodes[OUTPUT]


def op_of(tree: Expr) -> tuple[str, float]:
    """The table's op computing `tree` (not a number or a name) and its constant."""
    if isinstance(tree, Neg):
        return "neg", 0.0
    if isinstance(tree, Call):
        return tree.func, 0.0
    if isinstance(tree, Power):
        k = tree.exponent
        if k == 2.0:
            return "square", 0.0
        return ("powi" if k >= 0 else "powneg") if k.is_integer() else "pow", k
    assert isinstance(tree, Binary)
    if tree.op == "*" and tree.left == tree.right:  # x*x: one operand, one adjoint
        return "square", 0.0
    return BINARY[tree.op], 0.0


def _constants(tree: Expr, found: dict[str, float]) -> None:
    if isinstance(tree, Num):
        found.setdefault(tree.value.hex(), tree.value)
    for child in children(tree):
        _constants(child, found)


class _Lowering:
    """Walks each node's tree once, children first, appending its steps."""

    def __init__(self, graph: Graph, constants: tuple[float, ...]) -> None:
        leaves = (*graph.inputs, *graph.weights, TARGET)
        self.slots = {name: i for i, name in enumerate(leaves)}
        n, m = len(graph.inputs), len(graph.weights)
        self.constant = {value.hex(): len(leaves) + i for i, value in enumerate(constants)}
        self.first_step = len(leaves) + len(constants)
        self.steps: list[Step] = []
        # per slot: depends on an input, on a weight (leaves and constants now, steps appended)
        self.on_input = [i < n for i in range(self.first_step)]
        self.on_weight = [n <= i < n + m for i in range(self.first_step)]

    def node(self, name: str, tree: Expr) -> int:
        if isinstance(tree, Name | Num):  # a node of its own slot, so d<node> is its own
            slot = self.step("copy", (self.lower(tree, name),), 0.0, name)
        else:
            slot = self.lower(tree, name, root=True)
        self.slots[name] = slot
        return slot

    def step(self, op: str, args: tuple[int, ...], k: float, label: str) -> int:
        self.steps.append(Step(op, args, k, label))
        self.on_input.append(any(self.on_input[a] for a in args))
        self.on_weight.append(any(self.on_weight[a] for a in args))
        return self.first_step + len(self.steps) - 1

    def lower(self, tree: Expr, node: str, root: bool = False) -> int:
        """The slot holding `tree`'s value; its steps are labelled by node name or by text."""
        label = node if root else unparse(tree)
        if isinstance(tree, Num):
            return self.constant[tree.value.hex()]
        if isinstance(tree, Name):
            return self.slots[tree.id]
        op, k = op_of(tree)
        operands = children(tree)[:1] if op == "square" else children(tree)
        return self.step(op, tuple(self.lower(c, node) for c in operands), k, label)


def lower(graph: Graph) -> Tape:
    """The tape of `graph`: nodes in graph.order, then the loss, then the reverse sweep."""
    sequence = [(name, graph.nodes[name]) for name in graph.order] + [(LOSS, graph.loss)]
    found: dict[str, float] = {}
    for _, tree in sequence:
        _constants(tree, found)
    constants = tuple(found.values())
    low = _Lowering(graph, constants)
    nodes = {name: low.node(name, tree) for name, tree in sequence}
    first, steps = low.first_step, low.steps
    has_adjoint = [False] * (first + len(steps))
    has_adjoint[nodes[LOSS]] = True
    backward: list[Contribution] = []
    dy_pred_after = 0
    for index in range(len(steps) - 1, -1, -1):
        if first + index == nodes[OUTPUT]:
            dy_pred_after = len(backward)
        if not has_adjoint[first + index]:
            continue
        for operand, target in enumerate(steps[index].args):
            if low.on_input[target] or low.on_weight[target]:
                accumulate = has_adjoint[target]
                backward.append(
                    Contribution(index, operand, target, accumulate, low.on_weight[target])
                )
                has_adjoint[target] = True
    return Tape(
        len(graph.inputs), len(graph.weights), constants, tuple(steps), nodes, tuple(backward),
        dy_pred_after,
    )  # fmt: skip


_TAPES: OrderedDict[str, Tape] = OrderedDict()


def tape(graph: Graph) -> Tape:
    """lower(graph), remembered for the most recent graphs by id."""
    key = graph.id
    if key in _TAPES:
        _TAPES.move_to_end(key)
        return _TAPES[key]
    _TAPES[key] = result = lower(graph)
    if len(_TAPES) > 256:
        _TAPES.popitem(last=False)
    return result
