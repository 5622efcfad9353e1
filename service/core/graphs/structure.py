"""A graph's structure (nodes, edges, op, formula) and its gradients as a student derives them.

Each value's gradient is written as the chain rule one step back: `d<name>` is the sum, over the
expressions that use it, of the user's adjoint times the local derivatives on the way down that
expression (from the op table's `text`). A weight's `chain` expands that back to `dy_pred`
(then to the loss): one product of local derivatives per path, summed where values fan out.

Tested by tests/core/graphs/test_definition.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.graphs.definition import LOSS, OUTPUT, TARGET, Graph
from service.core.graphs.expression import Expr, Name, Num, children, names, number, precedence
from service.core.graphs.expression import unparse as text
from service.core.graphs.ops import BINARY, OPS
from service.core.graphs.tape import op_of

MAX_PATHS = 16  # a chain with more paths than this is left in its one-step form
_SYMBOLS = {op: symbol for symbol, op in BINARY.items()} | {"neg": "-", "square": "**2"}


@dataclass(frozen=True)
class Node:
    """One value of the graph: what it computes, from what, and how its gradient is found."""

    name: str
    kind: str  # input | weight | target | node | internal | loss
    op: str  # the operation at the root of its expression; the kind for leaves
    formula: str
    inputs: tuple[str, ...]
    gradient: str | None  # d<name> = ..., for everything the loss depends on through a weight


@dataclass(frozen=True)
class Structure:
    """The nodes in computing order, the edges (source, user), and each weight's full chain."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    chains: dict[str, str]  # d<weight> -> its chain rule expanded back to dy_pred


def _atom(tree: Expr) -> str:
    return text(tree) if precedence(tree) == 5 else f"({text(tree)})"


def _paths(tree: Expr, target: str, owner: str, root: bool = True) -> list[list[str]]:
    """The local derivatives from `tree` down to each occurrence of the name `target`."""
    if isinstance(tree, Name):
        return [[]] if tree.id == target else []
    if isinstance(tree, Num):
        return []
    op, k = op_of(tree)
    kids = children(tree)
    operands = kids[:1] if op == "square" else kids
    fill = {
        "a": _atom(kids[0]),
        "ra": text(kids[0]),
        "b": _atom(kids[1]) if len(kids) > 1 else "",
        "out": owner if root else _atom(tree),
        "k": number(k),
        "k1": number(k - 1.0),
    }
    found = []
    for i, child in enumerate(operands):
        local = OPS[op].text[i].format(**fill)
        for path in _paths(child, target, owner, root=False):
            found.append(([] if local == "1" else [local]) + path)
    return found


def _product(factors: list[str]) -> str:
    return " * ".join(f"({f})" if f.startswith("-") else f for f in factors) or "1"


def structure(graph: Graph) -> Structure:
    """Nodes, edges, formulas and gradients of `graph`."""
    trees = {**{name: graph.nodes[name] for name in graph.order}, LOSS: graph.loss}
    users: dict[str, list[tuple[str, list[list[str]]]]] = {}
    for owner, tree in trees.items():
        for ref in dict.fromkeys(r.id for r in names(tree)):
            users.setdefault(ref, []).append((owner, _paths(tree, ref, owner)))

    def one_step(name: str) -> str | None:
        if name == LOSS:
            return "dloss = 1"
        terms = [
            _product([f"d{owner}", *path]) for owner, paths in users.get(name, []) for path in paths
        ]
        return f"d{name} = " + (" + ".join(terms) if terms else "0")

    chains_of: dict[str, list[list[str]] | None] = {OUTPUT: [["dy_pred"]], LOSS: [["dloss"]]}

    def chain(name: str) -> list[list[str]] | None:
        if name not in chains_of:
            found: list[list[str]] | None = []
            for owner, paths in users.get(name, []):
                upstream = chain(owner)
                if upstream is None or found is None:
                    found = None
                    break
                found += [up + path for up in upstream for path in paths]
                if len(found) > MAX_PATHS:
                    found = None
            chains_of[name] = found
        return chains_of[name]

    nodes = [
        Node(x, "input", "input", f"{x} = x[{j}]", (), one_step(x))
        for j, x in enumerate(graph.inputs)
    ]
    nodes += [
        Node(w, "weight", "weight", f"{w} = w[{j}]", (), one_step(w))
        for j, w in enumerate(graph.weights)
    ]
    nodes.append(Node(TARGET, "target", "target", "y = the sample's target", (), None))
    edges = []
    for name, tree in trees.items():
        kind = "loss" if name == LOSS else "internal" if name.startswith("_") else "node"
        refs = tuple(dict.fromkeys(r.id for r in names(tree)))
        op = "copy" if isinstance(tree, Name | Num) else op_of(tree)[0]
        nodes.append(
            Node(name, kind, _SYMBOLS.get(op, op), f"{name} = {text(tree)}", refs, one_step(name))
        )
        edges += [(ref, name) for ref in refs]
    chains = {}
    for w in graph.weights:
        paths = chain(w)
        if paths is None:
            chains[f"d{w}"] = one_step(w) or ""
        else:
            chains[f"d{w}"] = f"d{w} = " + (" + ".join(_product(p) for p in paths) or "0")
    return Structure(tuple(nodes), tuple(edges), chains)
