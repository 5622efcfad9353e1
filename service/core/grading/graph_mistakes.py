"""The mutation search of the forward and backward pass of any graph, generated from its tape.

A graph definition lowers to a tape (service/core/graphs/tape.py): forward steps, then the
reverse sweep's contributions (``adjoint[target] (+)= local * g``). Every mutation here is a
generic operator on that tape, so it exists for every graph and is named with the graph's own
node names:

- forward: a wrong op at a step (cos for sin, a for a*a, ...: derivatives.WRONG_FORWARD), a term
  dropped from a sum, swapped operands (of a non-commutative op, or of two products' inputs in a
  sum), an input read one index off, a constant doubled or halved, the loss halved, the
  notebook's global ``w = [0.1]*n``;
- backward: a wrong local derivative of an op (derivatives.WRONG_DERIVATIVES), a dropped factor
  (the local derivative forgotten in the chain, only the upstream passed on), a sign flip of one
  contribution, a missing ``+=`` at fan-out (a later contribution overwrites instead of
  accumulating), an input read one index off in a local derivative, dy_pred's sign flipped or
  halved, the global ``w`` read by the backward (its weights and internal values, the forward
  dict's nodes).

``forward_variants`` and ``backward_variants`` build every single mutation and every pair of
different sites (``mistakes.search``), memoized per (graph, point): a class's submissions to one
case search once. (Over 250 lines: both passes' generic operators beside their evaluator.)

Tested by tests/core/grading/test_graph_mistakes.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from service.core.grading.derivatives import (
    OP_TEXT,
    OPERATIONS,
    WRONG_DERIVATIVES,
    WRONG_FORWARD,
)
from service.core.grading.policy import Value, Variant
from service.core.graphs.definition import LOSS, OUTPUT, Graph
from service.core.graphs.tape import Step, Tape, tape

GLOBAL = 0.1  # the notebook's global w = [0.1]*n
MAX_SETS = 6000  # singles and pairs evaluated per case at most (pairs cut first)
COMMUTATIVE = {"add", "mul"}


@dataclass(frozen=True)
class Edit:
    """One mutation of the tape: its label, sentence, site group, and what it changes."""

    key: str
    label: str
    sentence: str
    group: str
    step: int = -1  # forward: the step replaced by `replace`
    replace: Step | None = None
    global_w: bool = False
    constant: tuple[int, float] | None = None  # slot, new value
    loss_scale: float = 1.0
    contribution: int = -1  # backward: the contribution changed
    local: Callable[[float, float, float, float, float], float] | None = None
    overwrite: bool = False
    dy_scale: float = 1.0
    swaps: tuple[tuple[int, int, int], ...] = ()  # forward: (step, slot read, slot instead)
    read: tuple[int, int] | None = None  # backward: the local reads (operand, from this slot)


def _clean(name: str) -> str:
    """A name or formula as a student reads it: internal nodes' leading `_` dropped."""
    return re.sub(r"(?<![A-Za-z0-9_])_(?=[A-Za-z])", "", name)


def _p(text: str) -> str:
    """A formula parenthesized where an operator would bind into it."""
    return f"({text})" if any(c in text for c in " +-*/") else text


class Names:
    """The graph's names for the tape's slots."""

    def __init__(self, graph: Graph, t: Tape) -> None:
        leaves = [*graph.inputs, *graph.weights, "y", *(f"{c:g}" for c in t.constants)]
        self.slot = [_clean(n) for n in leaves] + [_clean(s.label) for s in t.steps]
        self.node = {slot: _clean(name) for name, slot in t.nodes.items()}

    def __call__(self, slot: int) -> str:
        return self.slot[slot]


# Simplest first: the order singles are tried in, so the first match is the simplest story.
PRIORITY = {
    "sign_flip@dy_pred": 0, "wrong_constant@dy_pred": 1, "wrong_constant@loss": 1,
    "wrong_derivative": 2, "double_activation": 2, "wrong_op": 2, "dropped_term": 2,
    "dropped_factor": 3, "fanout_overwrite": 3, "swapped_operands": 3, "global_w": 4,
    "wrong_operand": 4, "off_by_one": 4, "sign_flip": 5, "wrong_constant": 5,
}  # fmt: skip


def _rank(edit: Edit) -> int:
    return PRIORITY.get(edit.label, PRIORITY.get(edit.label.split("@")[0], 6))


def forward_edits(graph: Graph) -> list[Edit]:
    """Every forward mutation of the graph's tape, simplest kinds first."""
    return sorted(_forward_edits(graph), key=_rank)


def backward_edits(graph: Graph) -> list[Edit]:
    """Every backward mutation of the graph's reverse sweep, simplest kinds first."""
    return sorted(_backward_edits(graph), key=_rank)


def _forward_edits(graph: Graph) -> list[Edit]:
    t = tape(graph)
    names = Names(graph, t)
    first, n = t.first_step, t.n_inputs
    out: list[Edit] = []
    for i, step in enumerate(t.steps):
        where = names(first + i)
        for op in WRONG_FORWARD.get(step.op, ()):
            if op == "copy" and step.op not in ("square", "exp"):
                continue
            arity = len(OPERATIONS[op].local)
            if arity > len(step.args):
                continue
            new = Step(op, step.args[:arity], step.k, step.label)
            text = OP_TEXT.get(op, op).format(a=_p(names(step.args[0])),
                                               b=_p(names(step.args[-1])))  # fmt: skip
            kind = "sign_flip" if op == "sigmoid_flipped" else "wrong_op"
            label = f"{kind}@{step.op}"
            out.append(Edit(f"{label}:{op}@{where}", label,
                            f"{text} written where {where} = {step.op}(...) belongs", f"f{i}",
                            step=i, replace=new))  # fmt: skip
        if step.op == "add":
            for keep, drop in ((0, 1), (1, 0)):
                dropped = names(step.args[drop])
                new = Step("copy", (step.args[keep],), 0.0, step.label)
                out.append(Edit(f"dropped_term@{dropped}:{where}", f"dropped_term@{dropped}",
                                f"{dropped} left out of {where}", f"f{i}", step=i,
                                replace=new))  # fmt: skip
        if len(step.args) == 2 and step.op not in COMMUTATIVE and step.args[0] != step.args[1]:
            new = Step(step.op, (step.args[1], step.args[0]), step.k, step.label)
            out.append(Edit(f"swapped_operands@{where}", f"swapped_operands@{where}",
                            f"the operands of {where} swapped: {names(step.args[1])} and "
                            f"{names(step.args[0])}", f"f{i}", step=i, replace=new))  # fmt: skip
        for j, arg in enumerate(step.args):
            if arg < n - 1:
                args = tuple(arg + 1 if m == j else a for m, a in enumerate(step.args))
                new = Step(step.op, args, step.k, step.label)
                wrong, right = names(arg + 1), names(arg)
                out.append(Edit(f"off_by_one@x:{right}@{where}", f"off_by_one@x:{right}",
                                f"{wrong} read where {right} belongs in {where} (an index one "
                                "off)", f"x{i}", step=i, replace=new))  # fmt: skip
    out += _product_swaps(t, names)
    for index, value in enumerate(t.constants):
        slot = t.target + 1 + index
        for factor, word in ((2.0, "doubled"), (0.5, "halved")):
            out.append(Edit(f"wrong_constant@{value:g}:{word}", f"wrong_constant@{value:g}",
                            f"the constant {value:g} {word}", f"c{index}",
                            constant=(slot, value * factor)))  # fmt: skip
    out.append(Edit("wrong_constant@loss", "wrong_constant@loss",
                    "the loss halved (a factor 1/2 in front), dy_pred with it", "loss",
                    loss_scale=0.5))  # fmt: skip
    out.append(Edit("global_w", "global_w", f"the notebook's global w = [{GLOBAL}]*"
                    f"{t.n_weights} used instead of the w passed in", "global_w",
                    global_w=True))  # fmt: skip
    return out


def _product_swaps(t: Tape, names: Names) -> list[Edit]:
    """a = w1*f1 + w2*f2 written with f1 and f2 swapped: the two products' inputs exchanged."""
    first, out = t.first_step, []
    for i, step in enumerate(t.steps):
        if step.op != "add" or min(step.args) < first:
            continue
        left, right = (t.steps[a - first] for a in step.args)
        if left.op != "mul" or right.op != "mul":
            continue
        li = [a for a in left.args if a < t.n_inputs]
        ri = [a for a in right.args if a < t.n_inputs]
        if len(li) != 1 or len(ri) != 1 or li[0] == ri[0]:
            continue
        where = names(first + i)
        swaps = ((step.args[0] - first, li[0], ri[0]), (step.args[1] - first, ri[0], li[0]))
        key = f"swapped_operands@{where}"
        out.append(Edit(key, key, f"{names(li[0])} and {names(ri[0])} swapped in {where}",
                        f"f{i}", swaps=swaps))  # fmt: skip
    return out


def _steps(t: Tape, edits: Sequence[Edit]) -> list[Step]:
    steps = list(t.steps)
    for e in edits:
        if e.replace is not None:
            steps[e.step] = e.replace
        for index, old, new in e.swaps:
            s = steps[index]
            steps[index] = Step(s.op, tuple(new if a == old else a for a in s.args), s.k, s.label)
    return steps


def run_forward(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float], edits: Sequence[Edit]
) -> tuple[list[float], list[Step], float] | None:
    """The mutated tape's slots, its steps and dy_pred (None when a value is not finite)."""
    t = tape(graph)
    if any(e.global_w for e in edits):
        w = [GLOBAL] * len(w)
    slots = [*map(float, x), *map(float, w), float(y), *t.constants]
    for e in edits:
        if e.constant is not None:
            slots[e.constant[0]] = e.constant[1]
    steps = _steps(t, edits)
    try:
        for step in steps:
            a = slots[step.args[0]]
            b = slots[step.args[1]] if len(step.args) > 1 else 0.0
            value = OPERATIONS[step.op].forward(a, b, step.k)
            if not math.isfinite(value):
                return None
            slots.append(value)
        scale = math.prod((e.loss_scale for e in edits), start=1.0)
        adjoints = {t.loss: scale}
        _sweep(t, steps, slots, adjoints, 0, t.dy_pred_after, {})
        dy = adjoints.get(t.output, 0.0)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    slots[t.loss] *= scale
    return (slots, steps, dy) if math.isfinite(dy) and math.isfinite(slots[t.loss]) else None


def _sweep(
    t: Tape,
    steps: Sequence[Step],
    slots: Sequence[float],
    adjoints: dict[int, float],
    start: int,
    stop: int,
    changed: Mapping[int, Edit],
) -> None:
    for index in range(start, stop):
        c = t.backward[index]
        step = steps[c.step]
        a = slots[step.args[0]]
        b = slots[step.args[1]] if len(step.args) > 1 else 0.0
        out, g = slots[t.first_step + c.step], adjoints[t.first_step + c.step]
        e = changed.get(index)
        if e is not None and e.read is not None:
            a, b = (slots[e.read[1]], b) if e.read[0] == 0 else (a, slots[e.read[1]])
        if e is not None and e.local is not None:
            value = e.local(a, b, out, g, step.k)
        else:
            value = OPERATIONS[step.op].local[c.operand](a, b, out, g, step.k)
        accumulate = c.accumulate and not (e is not None and e.overwrite)
        adjoints[c.target] = adjoints[c.target] + value if accumulate else value


def forward_values(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float], edits: Sequence[Edit]
) -> dict[str, float] | None:
    """What the mutated forward reports: the graph's reported nodes, y_pred, loss, dy_pred."""
    done = run_forward(graph, x, y, w, edits)
    if done is None:
        return None
    slots, _, dy = done
    t = tape(graph)
    values = {name: slots[t.nodes[name]] for name in graph.reported if name != OUTPUT}
    return values | {OUTPUT: slots[t.output], LOSS: slots[t.loss], "dy_pred": dy}


def _scaled(factor: Callable[[float, float, float, float], float]) -> Callable[..., float]:
    def local(a: float, b: float, out: float, g: float, k: float) -> float:
        return g * factor(a, b, out, k)

    return local


def _negated(op: str, operand: int) -> Callable[..., float]:
    right = OPERATIONS[op].local[operand]

    def local(a: float, b: float, out: float, g: float, k: float) -> float:
        return -right(a, b, out, g, k)

    return local


def _upstream(a: float, b: float, out: float, g: float, k: float) -> float:
    return g


def _backward_edits(graph: Graph) -> list[Edit]:
    t = tape(graph)
    names = Names(graph, t)
    first = t.first_step
    out: list[Edit] = []
    targets: dict[int, int] = {}
    for index, c in enumerate(t.backward):
        if not c.weights:  # only the inputs' gradients would change
            continue
        step = t.steps[c.step]
        where = names(first + c.step)
        operand = names(step.args[c.operand])
        targets[c.target] = targets.get(c.target, 0) + 1
        for wrong in WRONG_DERIVATIVES.get(step.op, ()):
            if wrong.operand != c.operand:
                continue
            text = wrong.text.format(a=_p(names(step.args[0])), b=_p(names(step.args[-1])),
                                     out=_p(where), k=f"{step.k:g}")  # fmt: skip
            label = f"{wrong.family}@{step.op}"
            out.append(Edit(f"{label}:{wrong.key}@{where}:{c.operand}", label,
                            f"the derivative of {where} = {step.op}(...) with respect to "
                            f"{operand} taken as {text}", f"b{index}", contribution=index,
                            local=_scaled(wrong.factor)))  # fmt: skip
        if step.op not in ("copy", "add", "sub", "neg"):
            if step.op == "mul":
                other = names(step.args[1 - c.operand])
                label = f"dropped_factor@{other}"
                sentence = f"the chain factor {other} missing from d{operand} (at {where})"
            else:
                label = f"dropped_factor@{where}"
                sentence = (f"the local derivative of {where} (with respect to {operand}) left "
                            "out of the chain: only the upstream gradient passed on")  # fmt: skip
            out.append(Edit(f"{label}:{index}", label, sentence, f"b{index}",
                            contribution=index, local=_upstream))  # fmt: skip
        if step.op != "copy":
            label = f"sign_flip@{where}"
            out.append(Edit(f"{label}:{c.operand}", label,
                            f"the sign of the gradient flowing from {where} into {operand} "
                            "flipped", f"b{index}", contribution=index,
                            local=_negated(step.op, c.operand)))  # fmt: skip
        for j, arg in enumerate(step.args):
            if arg < t.n_inputs - 1 and len(step.args) == 2 and j != c.operand:
                label = f"off_by_one@x:{names(arg)}"
                out.append(Edit(f"{label}@{where}:{c.operand}", label,
                                f"d{operand} through {where} reading {names(arg + 1)} where "
                                f"{names(arg)} belongs (an index one off)", f"b{index}",
                                contribution=index, read=(j, arg + 1)))  # fmt: skip
        if c.accumulate:
            label = f"fanout_overwrite@{operand}"
            out.append(Edit(f"{label}:{index}", label,
                            f"d{operand} overwritten (=) instead of accumulated (+=) where "
                            f"{operand} feeds several steps: the contribution through "
                            f"{where} replaces the others", f"b{index}", contribution=index,
                            overwrite=True))  # fmt: skip
    out.append(Edit("sign_flip@dy_pred", "sign_flip@dy_pred",
                    "the gradient's sign flipped at dy_pred", "dy", dy_scale=-1.0))  # fmt: skip
    out.append(Edit("wrong_constant@dy_pred", "wrong_constant@dy_pred",
                    "dy_pred halved (its factor 2 missing)", "dy", dy_scale=0.5))  # fmt: skip
    out.append(Edit("global_w", "global_w", f"the notebook's global w = [{GLOBAL}]*"
                    f"{t.n_weights} read instead of the w passed in", "global_w",
                    global_w=True))  # fmt: skip
    return out


def backward_values(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float], edits: Sequence[Edit]
) -> dict[str, float] | None:
    """The gradients d<weight> of the backward pass with the mutations `edits`."""
    t = tape(graph)
    done = run_forward(graph, x, y, w, ())
    if done is None:
        return None
    slots, steps, dy = done
    if any(e.global_w for e in edits):
        other = run_forward(graph, x, y, [GLOBAL] * len(w), ())
        if other is None:
            return None
        kept = {t.nodes[name] for name in graph.reported}  # the forward dict's, and the loss's
        slots = [
            v if i in kept or i < t.n_inputs or t.target <= i < t.first_step or i >= t.output else o
            for i, (v, o) in enumerate(zip(slots, other[0], strict=True))
        ]
    changed = {e.contribution: e for e in edits if e.contribution >= 0}
    adjoints = {t.loss: 1.0}
    try:
        _sweep(t, steps, slots, adjoints, 0, t.dy_pred_after, changed)
        scale = math.prod((e.dy_scale for e in edits), start=1.0)
        if t.output in adjoints:
            adjoints[t.output] *= scale
        _sweep(t, steps, slots, adjoints, t.dy_pred_after, len(t.backward), changed)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    g = {f"d{name}": adjoints.get(t.weight(j), 0.0) for j, name in enumerate(graph.weights)}
    return g if all(map(math.isfinite, g.values())) else None


def search(
    edits: Sequence[Edit], evaluate: Callable[[Sequence[Edit]], Mapping[str, Value] | None]
) -> list[Variant]:
    """Singles, then pairs of different sites (at most MAX_SETS in all), evaluated."""
    sets: list[tuple[Edit, ...]] = [(e,) for e in edits]
    for i, a in enumerate(edits):
        for b in edits[i + 1 :]:
            if len(sets) >= MAX_SETS:
                break
            if a.group != b.group:
                sets.append((a, b))
    variants = []
    for chosen in sets:
        values = evaluate(chosen)
        if values is not None:
            labels = tuple(dict.fromkeys(e.label for e in chosen))
            text = "; and ".join(e.sentence for e in chosen)
            variants.append(Variant("+".join(labels), text, values, labels))
    return variants


class _Key:
    """A graph as an lru_cache key: by its id (Graph holds dicts, so it is not hashable)."""

    def __init__(self, graph: Graph) -> None:
        self.graph, self.id = graph, graph.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.id == self.id


def forward_variants(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float]
) -> tuple[Variant, ...]:
    """The wrong versions of the graph's forward pass at one point (memoized per point)."""
    return _variants("forward", graph, x, y, w)


def backward_variants(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float]
) -> tuple[Variant, ...]:
    """The wrong versions of the graph's backward pass at one point (memoized per point)."""
    return _variants("backward", graph, x, y, w)


@lru_cache(maxsize=128)
def _keyed(task: str, key: _Key, x: tuple[float, ...], y: float, w: tuple[float, ...]) -> (
    tuple[Variant, ...]
):  # fmt: skip
    graph = key.graph
    if task == "forward":
        return tuple(search(forward_edits(graph), lambda m: forward_values(graph, x, y, w, m)))
    return tuple(search(backward_edits(graph), lambda m: backward_values(graph, x, y, w, m)))


def _variants(
    task: str, graph: Graph, x: Sequence[float], y: float, w: Sequence[float]
) -> tuple[Variant, ...]:
    return _keyed(task, _Key(graph), tuple(map(float, x)), float(y), tuple(map(float, w)))
