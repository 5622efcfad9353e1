"""JsonBodyRoute answers exactly as FastAPI's own path does, only cheaper."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from service.api.errors import on_validation_error
from service.api.route_classes import json_body as routing
from service.api.schemas.base import COURSE_W
from service.api.schemas.graph import ForwardResponse, Point
from service.core import graph


async def evaluate(point: Point) -> ForwardResponse:
    """The /forward endpoint's shape, on explicit x and y."""
    assert point.x is not None
    assert point.y is not None
    return ForwardResponse.model_validate(graph.forward(point.x, point.y, point.w).values())


def twin_app() -> FastAPI:
    """The same endpoint at /cheap (JsonBodyRoute) and /plain (FastAPI's APIRoute)."""
    app = FastAPI()
    cheap = APIRouter(route_class=routing.JsonBodyRoute)
    cheap.post("/cheap")(evaluate)
    app.include_router(cheap)
    app.post("/plain")(evaluate)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    return app


ROW0 = {"w": COURSE_W, "x": [-1.287909498957745, -0.12, -1.459, -0.6666, -0.1442], "y": 1.8588}
BODIES: list[tuple[str, str | None]] = [
    ('{"w": [0.1, 0.1], "x": [1, 2, 3, 4, 5], "y": 1}', "application/json"),
    ('{"w": [NaN, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', "application/json"),
    ('{"w": [1e999, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', "application/json"),
    ('{"w": [true, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', "application/json"),
    ('{"w": ["0.1", 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', "application/json"),
    ('{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0, "z": 1}', "application/json"),
    (
        '{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0, "x": [1]}',
        "application/json",
    ),
    ('{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]}', "application/json"),
    ('{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', "text/plain"),
    ('{"w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "row": 0}', None),
    ("", "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_the_cheap_route_reports_invalid_bodies_exactly_as_fastapi_does(
    body: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    with TestClient(twin_app()) as client:
        cheap = client.post("/cheap", content=body, headers=headers)
        plain = client.post("/plain", content=body, headers=headers)
    assert cheap.status_code == plain.status_code == 422
    assert cheap.headers["content-type"] == plain.headers["content-type"]
    assert cheap.json() == plain.json()


def test_the_cheap_route_answers_exactly_as_fastapi_does() -> None:
    with TestClient(twin_app()) as client:
        cheap = client.post("/cheap", json=ROW0)
        plain = client.post("/plain", json=ROW0)
    assert cheap.status_code == plain.status_code == 200
    assert cheap.headers["content-type"] == plain.headers["content-type"]
    assert cheap.content == plain.content


def test_the_cheap_route_takes_application_json_variants() -> None:
    headers = {"content-type": "application/merge-patch+json; charset=utf-8"}
    with TestClient(twin_app()) as client:
        response = client.post("/cheap", json=ROW0, headers=headers)
    assert response.status_code == 200


def test_the_cheap_route_documents_itself_as_fastapi_does() -> None:
    paths = twin_app().openapi()["paths"]
    cheap, plain = paths["/cheap"]["post"], paths["/plain"]["post"]
    assert cheap["requestBody"] == plain["requestBody"]
    assert cheap["responses"] == plain["responses"]


def sync_endpoint(point: Point) -> ForwardResponse:
    """Not a coroutine: left to FastAPI."""
    raise NotImplementedError


async def two_parameters(point: Point, request: Request) -> ForwardResponse:
    """Two parameters: left to FastAPI."""
    raise NotImplementedError


async def returns_a_dict(point: Point) -> dict[str, Any]:
    """No response model: left to FastAPI."""
    raise NotImplementedError


@pytest.mark.parametrize("endpoint", [sync_endpoint, two_parameters, returns_a_dict])
def test_other_endpoint_shapes_fall_back_to_fastapi_s_handler(endpoint: Any) -> None:
    assert routing._models(endpoint) is None
    assert routing._models(evaluate) == (Point, ForwardResponse)
