"""The one pure ASGI layer around the app: each request's checks, id, metrics and access line.

In order, each step's code in its own module:

1. the request id and the 431 for oversized headers (context.py);
2. the bearer key (auth.py) and unknown query parameters (query.py);
3. the body, read whole within BACKPROP_REQUEST_TIMEOUT_S (timeouts.py) and
   BACKPROP_MAX_BODY_BYTES, JSON only (body.py);
4. the route: a request to a route of route_classes.json_body.direct_routes (the cheap POST
   routes, the parameterless GETs) is answered here, from the body already read (its errors
   rendered by the app's own exception handlers); any other request goes on to the app
   (Starlette's router), its body replayed;
5. once answered: the metrics (metrics.py) and the access line (context.py), from one clock.

One layer instead of six, because each ASGI layer costs a coroutine, a closure and a wrapped
`send` per request, and the framework's path (Request, router, exception middleware) costs more
than the work of /forward: `python -m bench.middleware` measures it against a bare FastAPI app.

Tested by api_tests/test_middleware.py, api_tests/test_observability.py, api_tests/test_auth.py,
api_tests/test_hostile.py and api_tests/test_slow_clients.py.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.middleware import auth, body, context, metrics, query, timeouts
from service.api.route_classes.json_body import DirectRoute, direct_routes
from service.core.errors import RequestTimeout
from service.settings import settings_of

_JSON = b"application/json"


class RequestLayer:
    """Request id, 431, auth, query, body limits and timeout, direct routes, metrics, log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The FastAPI app of the last request, its route templates and direct routes (both
        # made on its first request, then read here instead of from app.state each time).
        self._of: tuple[Any, metrics.Templates, dict[tuple[str, str], DirectRoute]] | None = None

    def _indexes(self, app: Any) -> tuple[metrics.Templates, dict[tuple[str, str], DirectRoute]]:
        of = self._of
        if of is None or of[0] is not app:
            of = self._of = (app, metrics.templates(app), direct_routes(app))
        return of[1], of[2]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = perf_counter()
        app = scope["app"]
        rid = context.incoming(scope)
        header = (context.HEADER, rid.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = context.with_id(message, header)
            await send(message)

        try:
            if sent := await self._answer(scope, receive, send, send_with_id, header, app):
                status = sent
        finally:
            seconds = perf_counter() - start
            path = scope["path"]
            if path not in metrics.EXCLUDED:
                handler = self._indexes(app)[0].handler(path)
                metrics.observe(handler, scope["method"], status, seconds)
            if settings_of(app).access_log:
                context.log_access(rid, scope, status, seconds)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        send_with_id: Send,
        header: tuple[bytes, bytes],
        app: Any,
    ) -> int:
        """Answer the request: the status of a direct route's answer, else 0 (every other answer
        goes out through `send_with_id`, which notes its status)."""
        settings = settings_of(app)
        if context.headers_too_large(scope):
            await context.send_headers_too_large(send_with_id)
            return 0
        if why := auth.refusal(scope, settings):
            await auth.refuse(send_with_id, why)
            return 0
        if names := query.unknown(scope):
            await query.refuse(send_with_id, names)
            return 0
        try:
            read = await body.read_body(
                scope,
                timeouts.timed(receive, settings.request_timeout_s),
                send_with_id,
                settings.max_body_bytes,
            )
        except RequestTimeout as exc:
            await timeouts.send_timeout(send_with_id, exc)
            return 0
        if read is None:  # refused, and answered (or the client left)
            return 0
        route = None
        if not scope.get("root_path"):
            route = self._indexes(app)[1].get((scope["method"], scope["path"]))
        if route is None:
            await self.app(scope, body.replayed(read, receive), send_with_id)
            return 0
        return await _direct(route, read, scope, receive, send, send_with_id, header)


async def _direct(
    route: DirectRoute,
    read: body.Body,
    scope: Scope,
    receive: Receive,
    send: Send,
    send_with_id: Send,
    header: tuple[bytes, bytes],
) -> int:
    """Answer a direct route; what it raises goes to the app's handler for it (as Starlette's
    ExceptionMiddleware would), or, without one (a bug), on up to ServerErrorMiddleware."""
    try:
        content = await route.answer(read.raw or b"", read.content_type)
        if isinstance(content, Response):  # the endpoint's own answer
            await content(scope, receive, send_with_id)
            return 0
    except Exception as exc:
        handler = _handler_of(scope["app"], exc)
        if handler is None:
            raise
        request = Request(scope, body.replayed(read, receive))
        response = await handler(request, exc)
        await response(scope, receive, send_with_id)
        return 0
    headers = [
        (b"content-length", str(len(content)).encode("latin-1")),
        (b"content-type", _JSON),
        header,
    ]
    await send({"type": "http.response.start", "status": route.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
    return route.status


def _handler_of(app: Any, exc: Exception) -> Any:
    """The app's exception handler for `exc` (by its class's MRO), the catch-all aside."""
    handlers = app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
