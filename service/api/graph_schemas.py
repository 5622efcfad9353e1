"""Response model of GET /graph: the graph's structure."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.api.schemas import Schema


class GraphNode(Schema):
    """One node of the graph."""

    name: str = Field(description="The course's name: f1..f5, w1..w9, y, a, exp, tanh, ...")
    kind: Literal["feature", "target", "weight", "operation"] = Field(
        description="feature, target and weight nodes are leaves; operations compute."
    )
    part: Literal["inputs", "part 1", "part 2", "part 3", "output"] = Field(
        description="Where the course's picture puts it (SPEC §1's parts)."
    )
    op: str = Field(description="The operation (or 'input', 'weight', 'target' for leaves).")
    formula: str = Field(description="How the forward pass computes the node.")
    gradient: str | None = Field(
        description="How the backward pass computes dL/d(node); null for features and y."
    )
    inputs: tuple[str, ...] = Field(description="Names of the nodes it is computed from.")


class GraphEdge(Schema):
    """Data flows from source to target in the forward pass (and back in the backward pass)."""

    source: str = Field(description="The input node.")
    target: str = Field(description="The node computed from it.")


class GraphStructure(Schema):
    """The whole graph: every node and edge with its formulas."""

    nodes: list[GraphNode] = Field(
        description="Leaves (f1..f5, w1..w9, y) and operations in forward order."
    )
    edges: list[GraphEdge] = Field(description="Every input-to-operation edge.")
