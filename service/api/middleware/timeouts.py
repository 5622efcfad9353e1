"""A request body not complete within BACKPROP_REQUEST_TIMEOUT_S gets a 408 problem.

Pure ASGI middleware. The server (granian, see service/cli.py) already closes a connection
whose headers are not complete within the timeout; the app is called once the headers are in,
and from then on the body has the same time to arrive, counted from that moment. Each read of
the body waits at most until that deadline; past it the read raises RequestTimeout, this layer
answers 408 `/problems/request-timeout` with `Connection: close` (the rest of the body is never
read, so the connection cannot be reused) and the connection is freed. Once the last body chunk
is in, reads pass straight through: a later wait for `http.disconnect` is not timed.

The request layer (service.api.middleware.layer) reads every body through `timed`, after the
request id is set, so that a 408 carries the id and leaves an access line. Tested by
api_tests/test_slow_clients.py against a real server process.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import send_problem
from service.core.errors import RequestTimeout
from service.settings import settings_of


def timed(receive: Receive, seconds: float) -> Receive:
    """`receive`, each read waiting at most until `seconds` from now (RequestTimeout past it);
    once the last body chunk is in, reads pass straight through."""
    deadline = asyncio.get_running_loop().time() + seconds
    complete = False

    async def timed_receive() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"The request body was not complete within {seconds:g} s "
                "(BACKPROP_REQUEST_TIMEOUT_S).",
                headers={"Connection": "close"},
            ) from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed_receive


async def send_timeout(send: Send, exc: RequestTimeout) -> None:
    """The 408 problem (with `Connection: close`)."""
    await send_problem(send, exc.status, exc.title, exc.detail, exc.slug, exc.headers)


class BodyTimeout:
    """Answer 408 when the request body is not complete within the request timeout.

    The app itself wires service.api.middleware.layer, which reads the body through `timed`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        seconds = settings_of(scope["app"]).request_timeout_s
        try:
            await self.app(scope, timed(receive, seconds), tracking_send)
        except RequestTimeout as exc:
            if started:  # too late for a status: the server ends the connection
                raise
            await send_timeout(send, exc)
