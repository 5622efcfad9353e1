"""The OpenAPI document: committed copy in sync, operation ids, docs, and one-click examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "openapi.json"


def _spec(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def test_committed_openapi_matches_the_app(client: Any) -> None:
    rendered = json.dumps(_spec(client), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert COMMITTED.read_text(encoding="utf-8") == rendered, (
        "openapi/openapi.json is stale: run `python scripts/export_openapi.py`"
    )


def test_operation_ids_are_the_route_names(client: Any) -> None:
    ids = {op["operationId"] for path in _spec(client)["paths"].values() for op in path.values()}
    assert {"forward", "backward", "gradcheck", "train", "dataset", "health", "ready"} <= ids


def test_every_operation_has_a_summary_and_a_description(client: Any) -> None:
    for path, operations in _spec(client)["paths"].items():
        for method, op in operations.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            assert op.get("description"), f"{method} {path} has no description"


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schema.get("properties", {}))


def test_every_schema_field_has_a_description(client: Any) -> None:
    for name, schema in _spec(client)["components"]["schemas"].items():
        if name in {"HTTPValidationError", "ValidationError"}:
            continue  # FastAPI's own
        for field, prop in _properties(schema).items():
            assert prop.get("description"), f"{name}.{field} has no description"


def _examples(client: Any) -> list[tuple[str, dict[str, Any]]]:
    spec = _spec(client)
    found = []
    for path, operations in spec["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if not body:
            continue
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert schema.get("examples"), f"POST {path} has no request example"
        found.append((path, schema["examples"][0]))
    return found


def test_every_post_request_has_an_example_that_the_service_accepts(client: Any) -> None:
    for path, example in _examples(client):
        response = client.post(path, json=example)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("path", ["/forward", "/backward", "/gradcheck"])
def test_point_examples_reproduce_the_course_point(client: Any, path: str) -> None:
    example = dict(_examples(client))[path]
    assert example["w"] == [0.1] * 9
    assert example["row"] == 0


def test_the_document_states_the_apps_limits_statuses_and_optimizer_branches() -> None:
    from service.core.training import registry
    from service.main import create_app
    from service.settings import Settings, get_settings

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(max_epochs=7, max_dataset_rows=9)
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    assert schemas["TrainRequest"]["properties"]["epochs"]["maximum"] == 7
    assert schemas["CustomData"]["properties"]["X"]["maxItems"] == 9
    (branches,) = [rule["oneOf"] for rule in schemas["TrainRequest"]["allOf"] if "oneOf" in rule]
    assert [b["properties"]["optimizer"]["const"] for b in branches] == list(registry.NAMES)
    assert "oneOf" in schemas["Point"]["allOf"][0]
    for path in ("/train", "/train/batch", "/compare", "/grade", "/train/plot"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "408", "413", "415", "422", "503"} <= responses.keys(), path
    assert "503" not in spec["paths"]["/forward"]["post"]["responses"]


def test_every_named_example_is_a_schema_example_the_service_accepts(client: Any) -> None:
    """Examples live on the schemas only; the media types' named examples are those, in order."""
    spec = _spec(client)
    named = 0
    for path, operations in spec["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if not body:
            continue
        media = body["content"]["application/json"]
        schema = media["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        values = [example["value"] for example in media.get("examples", {}).values()]
        assert values in ([], schema["examples"]), path
        for value in values:
            named += 1
            response = client.post(path, json=value)
            assert response.status_code == 200, (path, response.text)
    assert named >= 4  # /grade's four tasks at least


def _named(client: Any, path: str) -> dict[str, Any]:
    media = _spec(client)["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return dict(media["examples"])


@pytest.mark.parametrize("path", ["/forward", "/backward", "/gradcheck", "/graph"])
def test_graph_bodies_name_the_course_and_the_cs231n_example(client: Any, path: str) -> None:
    named = _named(client, path)
    assert list(named) == ["1. course", "2. cs231n_neuron"]
    assert "graph" not in named["1. course"]["value"]  # the default graph
    assert named["2. cs231n_neuron"]["summary"].startswith("CS231n lecture 4's sigmoid neuron")
    value = named["2. cs231n_neuron"]["value"]
    assert (value["w"], value["x"]) == ([2.0, -3.0, -3.0], [-1.0, -2.0])


def test_one_click_on_the_cs231n_example_gives_the_lecture_s_numbers(client: Any) -> None:
    """f = 0.73, df/dw = [-0.20, -0.39, 0.20], df/dx = [0.39, -0.59] (CS231n lecture 4)."""
    forward = client.post("/forward", json=_named(client, "/forward")["2. cs231n_neuron"]["value"])
    assert round(forward.json()["y_pred"], 2) == 0.73
    body = _named(client, "/backward")["2. cs231n_neuron"]["value"]
    backward = client.post("/backward", json=body).json()
    assert [round(g, 2) for g in backward["gradients"].values()] == [-0.20, -0.39, 0.20]
    assert [round(g, 2) for g in backward["input_gradients"].values()] == [0.39, -0.59]
    body = _named(client, "/gradcheck")["2. cs231n_neuron"]["value"]
    check = client.post("/gradcheck", json=body).json()
    assert [round(row["analytic"], 2) for row in check["weights"]] == [-0.20, -0.39, 0.20]
    assert check["verdict"] == "pass"
    picture = client.post("/graph", json=_named(client, "/graph")["2. cs231n_neuron"]["value"])
    assert b"grad -0.196612" in picture.content  # df/dw0, 6 significant digits
