"""Hypothesis strategies for random valid graph definitions (smooth ops, moderate values)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SMOOTH_CALLS = ("exp", "sin", "cos", "tanh", "sigmoid")


def _expression(leaves: list[str]) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(leaves) | st.sampled_from(["0.5", "2", "1.5", "3"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} / (1 + {t[1]}*{t[1]})"),
            st.tuples(st.sampled_from(SMOOTH_CALLS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda e: f"log(1 + ({e})**2)"),
            inner.map(lambda e: f"sqrt(2 + {e}*{e})"),
            st.tuples(inner, st.sampled_from(["2", "3", "-1", "0.5"])).map(
                lambda t: (
                    f"({t[0]})**{t[1]}"
                    if t[1] != "-1" and t[1] != "0.5"
                    else f"(2 + ({t[0]})**2)**{t[1]}"
                )
            ),
            inner.map(lambda e: f"-{e}"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


@st.composite
def definitions(draw: st.DrawFn, max_nodes: int = 4) -> dict[str, Any]:
    """A random definition: 1-3 inputs, 1-4 weights, 1-max_nodes nodes in a chain of use."""
    inputs = [f"x{i}" for i in range(draw(st.integers(1, 3)))]
    weights = [f"w{i}" for i in range(draw(st.integers(1, 4)))]
    count = draw(st.integers(1, max_nodes))
    nodes: dict[str, str] = {}
    available = [*inputs, *weights]
    for i in range(count - 1):
        name = f"_n{i}" if draw(st.booleans()) else f"n{i}"
        nodes[name] = draw(_expression(available))
        available.append(name)
    # y_pred uses a weight and, to fan out, possibly several earlier nodes
    last = draw(_expression(available))
    nodes["y_pred"] = (
        f"{last} + {draw(st.sampled_from(weights))}*{draw(st.sampled_from(available))}"
    )
    loss = draw(st.sampled_from(["(y - y_pred)**2", "y_pred", "log(1 + exp(-y*y_pred))"]))
    return {"inputs": inputs, "weights": weights, "nodes": nodes, "loss": loss}


def points(definition: dict[str, Any]) -> st.SearchStrategy[tuple[list[float], float, list[float]]]:
    """(x, y, w) for `definition`, values in [-1.5, 1.5]."""
    value = st.floats(-1.5, 1.5, allow_nan=False)
    return st.tuples(
        st.lists(value, min_size=len(definition["inputs"]), max_size=len(definition["inputs"])),
        value,
        st.lists(value, min_size=len(definition["weights"]), max_size=len(definition["weights"])),
    )
