"""Routes of the graph definitions: the presets, one preset described, a definition checked.

Tested by api_tests/test_graphs.py.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from service.api.route_classes.json_body import JsonBodyRoute
from service.api.schemas.graph import (
    GraphCheckRequest,
    GraphDescription,
    GraphList,
    graphs,
    resolve,
)
from service.core.graphs.definition import Graph
from service.core.graphs.expression import operations
from service.core.graphs.presets import DEFAULT
from service.core.graphs.structure import structure

router = APIRouter(tags=["graphs"], route_class=JsonBodyRoute)


def describe(graph: Graph, name: str | None) -> GraphDescription:
    """A graph's canonical definition, id, structure and derivations."""
    shape = structure(graph)
    definition = graph.canonical() | ({"summary": graph.summary} if graph.summary else {})
    return GraphDescription.model_validate(
        {
            "name": name,
            "summary": graph.summary,
            "id": graph.id,
            "definition": definition,
            "nodes": [asdict(node) for node in shape.nodes],
            "edges": [{"source": s, "target": t} for s, t in shape.edges],
            "gradients": shape.chains,
            "operations": sum(operations(t) for t in (*graph.nodes.values(), graph.loss)),
        }
    )


@router.get("/graphs", summary="The preset graphs")
async def list_graphs() -> GraphList:
    """Every preset (built in, and the instructor's from BACKPROP_GRAPHS_DIR): name, summary,
    inputs, weights and id. Any body that takes a point takes `graph`: one of these names."""
    presets = graphs().presets
    return GraphList.model_validate(
        {
            "graphs": [
                {
                    "name": name,
                    "summary": g.summary,
                    "inputs": list(g.inputs),
                    "weights": list(g.weights),
                    "id": g.id,
                }
                for name, g in sorted(presets.items())
            ],
            "default": DEFAULT,
        }
    )


@router.get("/graphs/{name}", summary="One preset graph: definition, structure, derivations")
async def get_graph(name: str) -> GraphDescription:
    """The preset's canonical definition, its id, its structure (nodes, edges, op, formula) and
    each weight's gradient as the chain of local derivatives. An unknown name is a 422 listing
    the presets."""
    return describe(graphs().preset(name), name)


@router.post("/graphs/check", summary="Validate a graph definition")
async def check_graph(body: GraphCheckRequest) -> GraphDescription:
    """Parse and validate an inline definition under the configured limits: 200 with what
    GET /graphs/{name} answers; 422 `invalid-graph` naming the node, position and what was
    expected, or `limit-exceeded` naming the limit (BACKPROP_MAX_GRAPH_*)."""
    return describe(resolve(body.graph), None)
