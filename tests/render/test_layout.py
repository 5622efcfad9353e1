"""The layered layout of any graph: depths, leaves before use, distinct slots, fewer crossings."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.graphs.definition import define
from service.core.graphs.presets import builtin
from service.core.graphs.structure import structure
from service.render import layout as layout_module
from service.render.layout import crossings, layers_of, layout
from tests.core.graphs.strategies import definitions

LEAF_KINDS = ("input", "weight", "target")


def _parts(definition: dict[str, object]) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    shape = structure(define(definition))
    names = [n.name for n in shape.nodes]
    leaves = [n.name for n in shape.nodes if n.kind in LEAF_KINDS]
    return names, list(shape.edges), leaves


def _naive_crossings(points: dict[str, tuple[float, float]], edges: list[tuple[str, str]]) -> int:
    """Crossings of edges between adjacent layers by comparing every pair (the oracle)."""
    near = [(points[s], points[t]) for s, t in edges if points[t][0] - points[s][0] == 1]
    count = 0
    for (a1, b1), (a2, b2) in itertools.combinations(near, 2):
        if a1[0] == a2[0] and (a1[1] - a2[1]) * (b1[1] - b2[1]) < 0:
            count += 1
    return count


def test_layers_are_the_longest_path_and_leaves_sit_just_before_their_first_user() -> None:
    names = ["x", "w", "v", "y", "n1", "n2", "n3"]
    edges = [("x", "n1"), ("w", "n1"), ("n1", "n2"), ("n2", "n3"), ("n1", "n3"), ("v", "n3")]
    leaves = ["x", "w", "v", "y"]
    assert layers_of(names, edges, leaves) == {
        "x": 0, "w": 0, "n1": 1, "n2": 2, "n3": 3, "v": 2, "y": 0,  # y unused: layer 0
    }  # fmt: skip


def test_the_cs231n_neuron_is_three_layers_with_no_crossing() -> None:
    shape = structure(builtin()["cs231n_neuron"])
    names = [n.name for n in shape.nodes]
    grid = layout(names, shape.edges, [n.name for n in shape.nodes if n.kind in LEAF_KINDS])
    assert grid.layers == 3
    assert grid.crossings == 0
    assert {grid.positions[n][0] for n in ("x0", "x1", "w0", "w1", "w2")} == {0.0}
    assert (grid.positions["y_pred"][0], grid.positions["loss"][0]) == (1.0, 2.0)


def test_barycenter_sweeps_untangle_a_crossing_the_given_order_has() -> None:
    names = ["a", "b", "c", "d", "p", "q"]
    edges = [("a", "q"), ("b", "q"), ("c", "p"), ("d", "p")]
    assert _naive_crossings(
        {"a": (0, 0), "b": (0, 1), "c": (0, 2), "d": (0, 3), "p": (1, 0), "q": (1, 1)}, edges
    ) == 4  # fmt: skip
    grid = layout(names, edges, ["a", "b", "c", "d"])
    assert grid.crossings == 0 == _naive_crossings(grid.positions, edges)
    assert grid.positions["q"][1] < grid.positions["p"][1]


def test_a_long_edge_gets_one_waypoint_per_layer_it_passes() -> None:
    names = ["x", "n1", "n2", "n3"]
    edges = [("x", "n1"), ("n1", "n2"), ("n2", "n3"), ("x", "n3")]
    grid = layout(names, edges, ["x"])
    assert [p[0] for p in grid.waypoints[("x", "n3")]] == [1.0, 2.0]
    assert grid.waypoints[("x", "n1")] == ()
    assert grid.rows == 2  # a waypoint takes a slot beside n1 and n2


def test_beyond_the_waypoint_budget_long_edges_are_drawn_straight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(layout_module, "MAX_WAYPOINTS", 1)
    names = ["x", "n1", "n2", "n3"]
    edges = [("x", "n1"), ("n1", "n2"), ("n2", "n3"), ("x", "n3")]
    grid = layout(names, edges, ["x"])
    assert all(not via for via in grid.waypoints.values())
    assert grid.rows == 1


def test_crossings_counts_what_comparing_every_pair_counts() -> None:
    order = [[("a", -1, 0), ("b", -1, 0), ("c", -1, 0)], [("p", -1, 1), ("q", -1, 1)]]
    a, b, c = order[0]
    p, q = order[1]
    links = [(a, q), (b, p), (c, p), (c, q), (a, p)]
    points = {s[0]: (float(s[2]), float(r)) for layer in order for r, s in enumerate(layer)}
    assert crossings(order, links) == _naive_crossings(points, [(x[0], y[0]) for x, y in links])
    assert crossings(order, links) == 2  # (a, q) crosses (b, p) and (c, p)


@settings(max_examples=60, deadline=None)
@given(definitions(max_nodes=6))
def test_random_graphs_place_every_value_in_its_own_slot_left_to_right(
    definition: dict[str, object],
) -> None:
    names, edges, leaves = _parts(definition)
    grid = layout(names, edges, leaves)
    assert set(grid.positions) == set(names)
    slots = list(grid.positions.values()) + [p for via in grid.waypoints.values() for p in via]
    assert len(slots) == len(set(slots))  # boxes and waypoints never share a slot
    for s, t in edges:
        assert grid.positions[s][0] < grid.positions[t][0]
        via = grid.waypoints[(s, t)]
        first, last = int(grid.positions[s][0]) + 1, int(grid.positions[t][0])
        assert [p[0] for p in via] == [float(i) for i in range(first, last)]
    assert grid.crossings == _naive_crossings(
        {**grid.positions, **_waypoint_names(grid.waypoints)}, _segments(grid.waypoints, edges)
    )
    assert all(0 <= row <= grid.rows - 1 for _, row in slots)


def _waypoint_names(
    waypoints: dict[tuple[str, str], tuple[tuple[float, float], ...]],
) -> dict[str, tuple[float, float]]:
    return {f"{s}>{t}#{i}": p for (s, t), via in waypoints.items() for i, p in enumerate(via)}


def _segments(
    waypoints: dict[tuple[str, str], tuple[tuple[float, float], ...]],
    edges: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    found = []
    for s, t in edges:
        chain = [s, *(f"{s}>{t}#{i}" for i in range(len(waypoints[(s, t)]))), t]
        found += list(itertools.pairwise(chain))
    return found


@given(st.integers(1, 40), st.integers(1, 60))
@settings(max_examples=20, deadline=None)
def test_wide_and_deep_graphs_stay_bounded(depth: int, width: int) -> None:
    """A chain `depth` long whose first node takes `width` leaves and whose last takes them all:
    the waypoints stay within the budget, and every value is still placed."""
    leaves = [f"w{i}" for i in range(width)]
    chain = [f"n{i}" for i in range(depth)]
    edges = [(leaf, chain[0]) for leaf in leaves] + list(itertools.pairwise(chain))
    edges += [(leaf, chain[-1]) for leaf in leaves if depth > 1]
    grid = layout([*leaves, *chain], edges, leaves)
    assert sum(len(v) for v in grid.waypoints.values()) <= layout_module.MAX_WAYPOINTS
    assert grid.layers == depth + 1
