"""Bearer-key authentication (BACKPROP_API_KEYS): `refusal` and `refuse`, which the request
layer (service.api.middleware.layer) calls.

With no keys configured the service is open (and says so in the log at start). With keys, every
path except the public ones needs `Authorization: Bearer <key>`; the key is compared with every
configured key in constant time, and is never logged or echoed.

Tested by api_tests/test_auth.py.
"""

from __future__ import annotations

import hmac
import logging

from starlette.types import Scope, Send

from service.api.errors import send_problem
from service.settings import Settings

log = logging.getLogger("service.auth")

# Probes, metrics, the API description and the pages that render it; nothing here reads data.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/favicon.ico",
    }
)
# The docs' assets, the one mount of the app (an unknown path elsewhere needs a key: 401).
PUBLIC_PREFIXES = ("/static-offline-docs/",)
SCHEME = "bearer"


def is_public(path: str) -> bool:
    """Whether a path is served without a key."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def announce(settings: Settings) -> None:
    """Log at start whether keys are required (how many, never which)."""
    if settings.api_keys:
        log.info("API keys required on non-public paths (%d configured)", len(settings.api_keys))
    else:
        log.warning("BACKPROP_API_KEYS is not set: every endpoint is open to anyone")


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else None
    return None


def _known(token: bytes, settings: Settings) -> bool:
    """Constant-time comparison against every key (no early exit on a match)."""
    found = False
    for key in settings.api_keys:
        found |= hmac.compare_digest(token, key.get_secret_value().encode())
    return found


def refusal(scope: Scope, settings: Settings) -> tuple[str, str] | None:
    """(detail, WWW-Authenticate challenge) when the request needs a valid key it lacks."""
    if not settings.api_keys or is_public(scope["path"]):
        return None
    token = _bearer(scope)
    if token and _known(token, settings):
        return None
    if token is None:
        return (
            "This endpoint needs the header 'Authorization: Bearer <key>'.",
            'Bearer realm="backprop-service"',
        )
    return "The bearer key is not valid.", 'Bearer realm="backprop-service", error="invalid_token"'


async def refuse(send: Send, why: tuple[str, str]) -> None:
    """The 401 problem, with its challenge."""
    detail, challenge = why
    headers = {"WWW-Authenticate": challenge}
    await send_problem(send, 401, "Unauthorized", detail, "unauthorized", headers)
