"""Large JSON bodies are parsed and validated in a child process, not on the event loop.

Parsing a custom dataset of 200,000 rows (5.5 MiB) makes a million Python floats, and pydantic
holds the GIL while it validates them: about a second in which no other request of the process is
answered. Above BACKPROP_PARSE_IN_CHILD_ABOVE_BYTES an `OffloadRoute` hands the raw body to one
child process, which parses it by the same JSON rules (json_text.loads) and validates it with the
route's model as FastAPI would (so the errors are the same), and returns the model with each custom
dataset as numpy arrays (which cross the process boundary as plain bytes), or raises MalformedJson
as the server would. The route then runs FastAPI's own handler, which takes the model as already
parsed. If the child fails (e.g. it cannot start: multiprocessing's spawn re-imports the server's
__main__ script, which must be importable), this request and the later ones take FastAPI's path.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from service.api.route_classes.json_body import is_json, with_parsed_body
from service.api.route_classes.json_text import loads
from service.api.schemas.training import CustomData
from service.core.errors import MalformedJson
from service.settings import settings_of

log = logging.getLogger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Parsed = tuple[BaseModel | None, list[dict[str, Any]]]
Body = tuple[Any, str | None]  # a route's body type and its union's discriminator
FAILURES: list[str] = []  # why the child is no longer used in this process, if it failed


_executor: ProcessPoolExecutor | None = None


def pool() -> ProcessPoolExecutor:
    """The child process (started on first use; spawned, as forking a threaded server is unsafe)."""
    global _executor
    if _executor is None:
        context = multiprocessing.get_context("spawn")
        _executor = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),)
        )
    return _executor


def shutdown() -> None:
    """Stop the child, if one was started, and wait for it (the server may die by its signal)."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True, cancel_futures=True)
        _executor = None


def watch_parent(parent: int) -> None:
    """In the child: exit as soon as the server process is gone, even if it was killed."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


@cache
def adapter(body: Body) -> TypeAdapter[Any]:
    """A validator of a route's body type: a model, or a union of models with its discriminator."""
    annotation, discriminator = body
    if discriminator is None:
        return TypeAdapter(annotation)
    return TypeAdapter(Annotated[annotation, Field(discriminator=discriminator)])  # type: ignore[arg-type]


def parse(body: Body, raw: bytes) -> Parsed:
    """In the child: the body parsed by the JSON rules and validated as FastAPI validates it,
    datasets as arrays; or the errors it reports (MalformedJson is raised, and crosses back)."""
    data = loads(raw)
    try:  # as FastAPI validates a body
        value = adapter(body).validate_python(data, from_attributes=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        return None, [{**e, "loc": ("body", *e["loc"])} for e in errors]
    return as_arrays(value), []


def as_arrays(value: Any) -> Any:
    """`value` with every CustomData's X and y as float64 arrays (not validated again)."""
    if isinstance(value, CustomData):
        X, y = np.asarray(value.X, dtype=np.float64), np.asarray(value.y, dtype=np.float64)
        # Arrays stand in for the validated lists: their one reader, to_config, takes either.
        return CustomData.model_construct(X=X, y=y)  # type: ignore[arg-type]
    if isinstance(value, list):
        return [as_arrays(item) for item in value]
    if isinstance(value, BaseModel):
        update = {name: as_arrays(getattr(value, name)) for name in type(value).model_fields}
        return value.model_copy(update=update)
    return value


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def body_type(route: APIRoute) -> Body | None:
    """The model (or union of models) a route takes as its whole JSON body, if it takes one."""
    params = route.dependant.body_params
    if len(params) != 1:
        return None
    info = params[0].field_info
    annotation = info.annotation
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    if _is_model(annotation) or (members and all(map(_is_model, members))):
        return annotation, getattr(info, "discriminator", None)
    return None


async def parsed_in_child(body: Body, raw: bytes) -> BaseModel | None:
    """The model parsed in the child; None when the child could not do it."""
    if FAILURES:
        return None
    try:
        value, errors = await asyncio.get_running_loop().run_in_executor(pool(), parse, body, raw)
    except MalformedJson:
        raise
    except Exception as exc:  # e.g. the child could not start: FastAPI's path answers from now on
        log.exception("the child process failed; large bodies are parsed in this process from now")
        FAILURES.append(repr(exc))
        shutdown()
        return None
    if errors:
        raise RequestValidationError(errors)
    return value


class OffloadRoute(APIRoute):
    """An APIRoute whose large JSON bodies are parsed in the child process."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, given the parsed model when the body is large."""
        handler = super().get_route_handler()
        body = body_type(self)
        if body is None:
            return with_parsed_body(handler)

        async def offloaded(request: Request) -> Response:
            raw = await request.body()  # FastAPI's handler reads it again from the cache
            large = len(raw) > settings_of(request.app).parse_in_child_above_bytes
            if large and is_json(request.headers.get("content-type")):
                value = await parsed_in_child(body, raw)
                if value is not None:
                    request._json = value  # Request.json() answers this; FastAPI takes it as is
            return await parsed_here(request)

        parsed_here = with_parsed_body(handler)
        return offloaded
