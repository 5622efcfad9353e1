"""A cheap request path for routes that take one JSON body model and return one response model.

FastAPI's generic handler parses the body with `json.loads`, solves dependencies, validates the
dict, then validates the returned model again and encodes it. For a route whose only parameter is a
pydantic model, `JsonBodyRoute` validates the body parsed once by the JSON rules
(json_text.request_json) and writes the returned model with its own serializer. Any other route
gets FastAPI's handler, handed the same parsed body (`with_parsed_body`). The OpenAPI document is
built from the same signature (request schema, example, response schema, 422), and a validation
failure raises the same RequestValidationError, so the problem+json error is the one FastAPI's path
gives.

`direct_routes` indexes the app's routes of that shape (and the GET routes without parameters,
`direct_get`) by method and exact path: the request layer (service.api.middleware.layer)
answers a request to one of them itself, the body already read,
without Starlette's Request, router and exception middleware (the app's exception handlers still
render what it raises). Every other request takes the app's own path.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple, get_type_hints

from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from service.api.route_classes.json_text import loads, request_json

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# (raw body, Content-Type) -> JSON, or a Response the endpoint returned itself
Direct = Callable[[bytes, str | None], Awaitable[bytes | Response]]
BodyAnswer = Callable[[bytes, str | None], Awaitable[bytes]]  # a JsonBodyRoute's: always JSON


def is_json(content_type: str | None) -> bool:
    """application/json or application/*+json, as FastAPI decides whether to parse a body."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _models(endpoint: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]] | None:
    """(body model, response model) of `async def f(body: Model) -> Model`, else None."""
    if not inspect.iscoroutinefunction(endpoint):
        return None
    hints = get_type_hints(endpoint)
    if len(inspect.signature(endpoint).parameters) != 1 or len(hints) != 2:
        return None
    body, returned = (hints[name] for name in hints)  # the parameter, then "return"
    if not all(isinstance(t, type) and issubclass(t, BaseModel) for t in (body, returned)):
        return None
    return body, returned


class JsonBodyRoute(APIRoute):
    """An APIRoute that validates raw JSON bytes and serializes its model without detours."""

    def direct(self) -> BodyAnswer | None:
        """The route as raw body in, JSON bytes out, when the endpoint has the shape it needs.

        It raises what the handler raises (RequestValidationError, the core's errors), for the
        app's exception handlers (see `direct_routes`).
        """
        models = _models(self.endpoint)
        if models is None or self.dependant.dependencies:
            return None
        body_model, response_model = models
        endpoint = self.endpoint
        to_json = response_model.__pydantic_serializer__.to_json

        async def answer(raw: bytes, content_type: str | None) -> bytes:
            if not raw:  # as FastAPI: an absent body is a missing one
                missing = {"type": "missing", "loc": ("body",), "msg": "Field required"}
                raise RequestValidationError([{**missing, "input": None}])
            try:
                if is_json(content_type):
                    body = body_model.model_validate(loads(raw))
                else:  # FastAPI validates the bytes themselves, which a model refuses
                    body = body_model.model_validate(raw, from_attributes=True)
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in errors]
                ) from None
            return to_json(await endpoint(body))

        return answer

    def get_route_handler(self) -> Handler:
        """The cheap handler when the endpoint has the shape it needs, else FastAPI's."""
        answer = self.direct()
        if answer is None:
            return with_parsed_body(super().get_route_handler())
        status_code = self.status_code or 200

        async def handler(request: Request) -> Response:
            raw = await request.body()
            content = await answer(raw, request.headers.get("content-type"))
            return Response(content, status_code, media_type="application/json")

        return handler


def with_parsed_body(handler: Handler) -> Handler:
    """FastAPI's `handler`, given a JSON body parsed by the JSON rules instead of `json.loads`."""

    async def parsed(request: Request) -> Response:
        if is_json(request.headers.get("content-type")) and await request.body():
            await request_json(request)  # FastAPI's handler takes request.json() as it is
        return await handler(request)

    return parsed


class DirectRoute(NamedTuple):
    """A route answered by the request layer itself: its answer and its status."""

    answer: Direct
    status: int


def direct_get(route: APIRoute) -> Direct | None:
    """`async def f() -> Model` with no parameter: the model as FastAPI answers it (validated as
    its response model, dumped in JSON mode by alias, rendered as Starlette's JSONResponse does).
    A Response the endpoint returns instead is passed on as it is."""
    model = route.response_model
    if (
        not inspect.iscoroutinefunction(route.endpoint)
        or inspect.signature(route.endpoint).parameters
        or not (isinstance(model, type) and issubclass(model, BaseModel))
        or not isinstance(route.response_class, DefaultPlaceholder)
        or route.response_model_include is not None
        or route.response_model_exclude is not None
        or not route.response_model_by_alias
        or route.response_model_exclude_unset
        or route.response_model_exclude_defaults
        or route.response_model_exclude_none
        or route.dependant.dependencies
    ):
        return None
    endpoint = route.endpoint

    async def answer(raw: bytes, content_type: str | None) -> bytes | Response:
        value = await endpoint()
        if isinstance(value, Response):
            return value
        if not isinstance(value, model):
            value = model.model_validate(value)
        data = value.model_dump(mode="json", by_alias=True)
        return json.dumps(
            data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")

    return answer


def direct_routes(app: Any) -> dict[tuple[str, str], DirectRoute]:
    """(method, exact path) -> the route there that the request layer answers itself: a POST-only
    JsonBodyRoute whose endpoint has the cheap shape, or a GET-only route of `direct_get`'s.

    Built once per app, on its first request (routes added later are not indexed: they take the
    app's own path). A route with a dependency anywhere (the app's, its router's) is left out.
    """
    found: dict[tuple[str, str], DirectRoute] | None = getattr(app.state, "direct_routes", None)
    if found is None:
        found = {}
        taken: set[tuple[str, str]] = set()  # the first route the router would pick, seen
        shared = bool(getattr(app.router, "dependencies", None))
        for context in iter_route_contexts(app.routes):
            methods, path = context.methods, context.path
            if path is None:
                continue
            for method in ("GET", "POST"):
                if (methods is not None and method not in methods) or (method, path) in taken:
                    continue
                taken.add((method, path))
                route = context.original_route
                if shared or context.route is not route or "{" in path or methods != {method}:
                    continue
                if not isinstance(route, APIRoute):
                    continue
                answer: Direct | None = None
                if method == "POST" and isinstance(route, JsonBodyRoute):
                    answer = route.direct()
                elif method == "GET":
                    answer = direct_get(route)
                if answer is not None:
                    found[(method, path)] = DirectRoute(answer, route.status_code or 200)
        app.state.direct_routes = found
    return found
