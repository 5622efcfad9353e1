"""Where to draw the boxes of any graph: layers by depth from the inputs, ordered to cross less.

A layered (Sugiyama-style) drawing, kept cheap: a computed value sits one layer right of the
deepest value it uses (leaves at depth 0); a leaf (input, weight, y) sits one layer left of its
first user, so it is drawn next to where it is used; an unused leaf sits in layer 0. An edge that
spans several layers passes through a waypoint in each layer between, which takes a slot there
(so lines run between boxes, not through them). The order within each layer starts from the
given order and is improved by barycenter sweeps (each slot moved to the mean position of its
neighbours in the layer before, then after), keeping the order with the fewest crossings seen.
The work is bounded: at most MAX_WAYPOINTS waypoints (beyond that long edges are drawn straight)
and SWEEPS sweeps.

Pure Python, no matplotlib: tested by tests/render/test_layout.py.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SWEEPS = 8  # down-and-up sweeps of the barycenter heuristic
MAX_WAYPOINTS = 2000  # waypoints of long edges; beyond it they are drawn as straight lines

# (name, -1, layer) for a box; (edge's source, edge's index, layer) for a waypoint
Slot = tuple[str, int, int]


@dataclass(frozen=True)
class Layout:
    """Each box's (layer, row) and each edge's waypoints, in grid units (row 0 at the top).

    Rows of a layer are centred on the tallest layer's middle, so they can be half-integers.
    """

    positions: dict[str, tuple[float, float]]
    waypoints: dict[tuple[str, str], tuple[tuple[float, float], ...]]
    layers: int
    rows: int  # the most slots in one layer
    crossings: int  # of the links between adjacent layers, in this order


def layers_of(
    names: Sequence[str], edges: Iterable[tuple[str, str]], leaves: Iterable[str]
) -> dict[str, int]:
    """Each name's layer: computed values by longest path from the leaves, leaves before use."""
    leaf = set(leaves)
    sources: dict[str, list[str]] = {n: [] for n in names}
    users: dict[str, list[str]] = {n: [] for n in names}
    for s, t in edges:
        sources[t].append(s)
        users[s].append(t)
    layer: dict[str, int] = {}

    def depth(name: str) -> int:  # iterative: a chain of nodes can be long
        stack = [name]
        while stack:
            top = stack[-1]
            pending = [s for s in sources[top] if s not in leaf and s not in layer]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            layer[top] = 1 + max((layer[s] for s in sources[top] if s not in leaf), default=0)
        return layer[name]

    for name in names:
        if name not in leaf:
            depth(name)
    for name in names:
        if name in leaf:
            layer[name] = max(0, min((layer[u] for u in users[name]), default=1) - 1)
    return layer


def crossings(order: Sequence[Sequence[Slot]], links: Iterable[tuple[Slot, Slot]]) -> int:
    """How many pairs of links cross (each link goes from a layer to the next one).

    Two links cross when their ends are in opposite orders in the two layers: inversions of the
    lower ends once the links are sorted by upper end, counted in O(n log n) with bisect.
    """
    rank = {slot: r for layer in order for r, slot in enumerate(layer)}
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        by_layer.setdefault(a[2], []).append((rank[a], rank[b]))
    total = 0
    for pairs in by_layer.values():
        seen: list[int] = []
        for j, (_, lower) in enumerate(sorted(pairs)):
            total += j - bisect.bisect_right(seen, lower)
            bisect.insort(seen, lower)
    return total


def _sweep(
    order: list[list[Slot]], neighbours: dict[Slot, list[Slot]], layers: Iterable[int]
) -> None:
    """Sort each of `layers` in turn by its slots' mean neighbour rank (stable on ties)."""
    rank = {slot: r for layer in order for r, slot in enumerate(layer)}
    for i in layers:

        def centre(slot: Slot) -> float:
            near = neighbours[slot]  # a slot with no neighbour on that side keeps its place
            return sum(rank[n] for n in near) / len(near) if near else float(rank[slot])

        order[i].sort(key=centre)
        rank.update((slot, r) for r, slot in enumerate(order[i]))


def layout(names: Sequence[str], edges: Sequence[tuple[str, str]], leaves: Iterable[str]) -> Layout:
    """Positions for `names` (in their given order as the starting order) joined by `edges`."""
    layer = layers_of(names, edges, leaves)
    depth = max(layer.values(), default=0) + 1
    order: list[list[Slot]] = [[] for _ in range(depth)]
    for name in names:
        order[layer[name]].append((name, -1, layer[name]))
    routed = sum(max(0, layer[t] - layer[s] - 1) for s, t in edges) <= MAX_WAYPOINTS
    links: list[tuple[Slot, Slot]] = []  # between adjacent layers only
    chains: list[list[Slot]] = []
    for k, (s, t) in enumerate(edges):
        chain = [(s, k, i) for i in range(layer[s] + 1, layer[t])] if routed else []
        for slot in chain:
            order[slot[2]].append(slot)
        chains.append(chain)
        path = [(s, -1, layer[s]), *chain, (t, -1, layer[t])]
        if routed or layer[t] - layer[s] == 1:
            links += list(zip(path, path[1:], strict=False))
    before: dict[Slot, list[Slot]] = {slot: [] for slots in order for slot in slots}
    after: dict[Slot, list[Slot]] = {slot: [] for slots in order for slot in slots}
    for a, b in links:
        after[a].append(b)
        before[b].append(a)
    best, fewest = [list(x) for x in order], crossings(order, links)
    for _ in range(SWEEPS if fewest else 0):
        _sweep(order, before, range(1, depth))
        _sweep(order, after, range(depth - 2, -1, -1))
        count = crossings(order, links)
        if count < fewest:
            best, fewest = [list(x) for x in order], count
        if not fewest:
            break
    rows = max(len(x) for x in best)
    where = {
        slot: (float(i), (rows - len(slots)) / 2 + r)
        for i, slots in enumerate(best)
        for r, slot in enumerate(slots)
    }
    positions = {name: where[(name, -1, layer[name])] for name in names}
    waypoints = {
        edge: tuple(where[slot] for slot in chain)
        for edge, chain in zip(edges, chains, strict=True)
    }
    return Layout(positions, waypoints, depth, rows, fewest)
