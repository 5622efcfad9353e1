"""What the app's import would build and not use before the first request that needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic._internal import _config


@contextmanager
def deferred_model_builds() -> Iterator[None]:
    """Pydantic models defined meanwhile are built on first use, not when their class is made.

    For FastAPI's ~45 OpenAPI models (fastapi.openapi.models), built one by one at import through
    forward references: ~0.2 s of a start, against ~20 ms at once on the first /openapi.json.
    pydantic has no public default for `defer_build`; without its private one, this does nothing.
    """
    defaults = getattr(_config, "config_defaults", None)
    if not isinstance(defaults, dict) or defaults.get("defer_build") is not False:
        yield
        return
    defaults["defer_build"] = True
    try:
        yield
    finally:
        defaults["defer_build"] = False
