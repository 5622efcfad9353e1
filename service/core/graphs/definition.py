"""A graph definition: validated, in canonical form, with its id and its nodes' order.

The definition is JSON: `inputs` and `weights` (names, in the order `x` and `w` use them),
`nodes` (name -> expression over inputs, weights, nodes, numbers and `y`; `y_pred` required),
`loss` (default `(y - y_pred)**2`) and an optional `summary`. Nodes named `_...` are internal.
The canonical form re-prints each expression from its tree; the id is the sha256 of that form as
compact JSON with sorted keys, so equal graphs have equal ids whatever order nodes are listed in.
The order nodes are computed in derives from the canonical form alone (dependencies first, ties
by name), so one id always means one sequence of float operations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from service.core.errors import GraphLimitExceeded, InvalidGraph
from service.core.graphs.expression import NAME_PATTERN, Expr, names, operations, parse, unparse

DEFAULT_LOSS = "(y - y_pred)**2"
TARGET, OUTPUT, LOSS = "y", "y_pred", "loss"
RESERVED = (TARGET, LOSS, "dy_pred")  # the keys /forward reports besides the nodes
MAX_NAME_LENGTH = 64


@dataclass(frozen=True)
class Limits:
    """The largest definition accepted (BACKPROP_MAX_GRAPH_<FIELD>); a refusal names the field."""

    nodes: int = 64
    operations: int = 200
    weights: int = 64
    inputs: int = 64
    depth: int = 32
    expression_length: int = 2000
    exponent: float = 16.0

    def __post_init__(self) -> None:
        if not 1 <= self.depth <= 200:  # the tree is walked recursively
            raise ValueError("depth must be between 1 and 200")


@dataclass(frozen=True)
class Graph:
    """A validated definition: its canonical parts, parsed trees and the order to compute them."""

    inputs: tuple[str, ...]
    weights: tuple[str, ...]
    nodes: Mapping[str, Expr]  # in the definition's order (the id does not depend on it)
    loss: Expr
    order: tuple[str, ...]  # the nodes, each after the nodes it uses
    summary: str = ""

    def canonical(self) -> dict[str, Any]:
        """The canonical definition: what the id hashes."""
        return {
            "inputs": list(self.inputs),
            "weights": list(self.weights),
            "nodes": {name: unparse(tree) for name, tree in self.nodes.items()},
            "loss": unparse(self.loss),
        }

    @cached_property  # a frozen graph's id never changes; hashing it costs ~30 µs
    def id(self) -> str:
        """sha256 of the canonical definition as compact JSON with sorted keys."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def reported(self) -> tuple[str, ...]:
        """The nodes /forward answers (not `_`-internal), in the definition's order."""
        return tuple(name for name in self.nodes if not name.startswith("_"))


def _limit(limit: str, maximum: float, actual: float, node: str | None = None) -> None:
    if actual > maximum:
        raise GraphLimitExceeded(
            f"{actual:g} {limit.replace('_', ' ')} exceed the limit of {maximum:g}",
            node=node,
            limit=limit,
        )


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidGraph(
            f"'{key}' is not a list of names", expected="a list of strings", loc=(key,)
        )
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise InvalidGraph(
                f"'{key}' is not a list of names", expected="a list of strings", loc=(key, i)
            )
        _check_name(name, key, (key, i))
    return tuple(value)


def _check_name(name: str, where: str, loc: tuple[str | int, ...] = ()) -> None:
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise InvalidGraph(
            f"{name[:MAX_NAME_LENGTH]!r} in '{where}' is not a name",
            expected=f"an ASCII identifier of at most {MAX_NAME_LENGTH} characters",
            loc=loc or (where,),
        )


def define(definition: Any, limits: Limits | None = None) -> Graph:
    """Validate a JSON definition into a Graph; InvalidGraph (422) says what and where."""
    limits = limits or Limits()
    if not isinstance(definition, dict):
        raise InvalidGraph("the definition is not an object", expected="a JSON object")
    unknown = sorted(set(definition) - {"inputs", "weights", "nodes", "loss", "summary"})
    if unknown:
        raise InvalidGraph(
            f"unknown key {unknown[0]!r}"[:200],
            expected="inputs, weights, nodes, loss, summary",
            loc=(unknown[0][:64],),
        )
    for key in ("inputs", "weights", "nodes"):
        if key not in definition:
            raise InvalidGraph(f"'{key}' is missing", expected=f"a '{key}' key", loc=(key,))
    raw_nodes, loss_text = definition["nodes"], definition.get("loss", DEFAULT_LOSS)
    summary = definition.get("summary", "")
    if not isinstance(raw_nodes, dict):
        raise InvalidGraph(
            "'nodes' is not an object", expected="an object of name: expression", loc=("nodes",)
        )
    if not isinstance(summary, str) or len(summary) > 500:
        raise InvalidGraph(
            "'summary' is not a short text", expected="a string of <= 500 chars", loc=("summary",)
        )
    for key, limit in (("inputs", limits.inputs), ("weights", limits.weights)):
        if isinstance(definition[key], list):
            _limit(key, limit, len(definition[key]))
    _limit("nodes", limits.nodes, len(raw_nodes))
    inputs, weights = (
        _names(definition["inputs"], "inputs"),
        _names(definition["weights"], "weights"),
    )
    texts: dict[str, Any] = dict(raw_nodes)
    texts[LOSS] = loss_text
    leaves = (*inputs, *weights)
    seen: set[str] = set()
    for name in (*leaves, *texts):
        if name in seen:
            raise InvalidGraph(
                f"the name {name!r} is defined twice", node=name, expected="unique names"
            )
        seen.add(name)
    for name in raw_nodes:
        _check_name(name, "nodes", ("nodes", name[:MAX_NAME_LENGTH]))
    for name in (*leaves, *raw_nodes):
        if name in RESERVED:
            raise InvalidGraph(
                f"{name!r} is reserved", node=name, expected="a name other than y, loss, dy_pred"
            )
    if OUTPUT not in raw_nodes:
        raise InvalidGraph("'y_pred' is not defined", expected="a node named 'y_pred'")
    if OUTPUT in leaves:
        raise InvalidGraph("'y_pred' must be a node", node=OUTPUT, expected="y_pred in 'nodes'")
    trees: dict[str, Expr] = {}
    for name, text in texts.items():
        if not isinstance(text, str):
            raise InvalidGraph("the expression is not a string", node=name, expected="a string")
        _limit("expression_length", limits.expression_length, len(text), name)
        trees[name] = parse(text, name, max_depth=limits.depth, max_exponent=limits.exponent)
    _limit("operations", limits.operations, sum(operations(t) for t in trees.values()))
    known = {*leaves, *raw_nodes, TARGET}
    for name, tree in trees.items():
        for ref in names(tree):
            if ref.id not in known:
                raise InvalidGraph(
                    f"unknown name {ref.id!r}",
                    node=name,
                    position=ref.pos,
                    expected="an input, a weight, a node or y",
                )
    loss = trees.pop(LOSS)
    order = _order(trees)
    if OUTPUT not in _upstream(loss, trees):
        raise InvalidGraph("the loss does not depend on y_pred", node=LOSS, expected="y_pred in it")
    return Graph(inputs, weights, trees, loss, order, summary)


def _order(trees: Mapping[str, Expr]) -> tuple[str, ...]:
    """Nodes each after those it uses (Kahn, ties by name); a cycle is an error naming a node."""
    uses = {name: {r.id for r in names(tree) if r.id in trees} for name, tree in trees.items()}
    users: dict[str, list[str]] = {name: [] for name in trees}
    for name, used in uses.items():
        for u in used:
            users[u].append(name)
    waiting = {name: len(used) for name, used in uses.items()}
    ready = sorted(name for name, n in waiting.items() if n == 0)
    order: list[str] = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
        ready.sort()
    if len(order) < len(trees):
        stuck = min(name for name, n in waiting.items() if n > 0)
        raise InvalidGraph("the nodes form a cycle", node=stuck, expected="no cycles")
    return tuple(order)


def _upstream(tree: Expr, trees: Mapping[str, Expr]) -> set[str]:
    """Every name `tree` depends on, through nodes."""
    found: set[str] = set()
    stack = [r.id for r in names(tree)]
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            if name in trees:
                stack.extend(r.id for r in names(trees[name]))
    return found


def limit_fields() -> tuple[str, ...]:
    """The Limits fields, for settings named BACKPROP_MAX_GRAPH_<FIELD>."""
    return tuple(f.name for f in fields(Limits))
