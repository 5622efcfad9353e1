"""Response models of the operations routes: health, readiness and versions.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

from pydantic import Field

from service.api.schemas.base import Schema


class Health(Schema):
    """A process's state."""

    status: str = Field(description="'ok', or 'starting' before the self-check passed.")


class VersionResponse(Schema):
    """Versions that identify the numbers this process produces."""

    service: str = Field(description="backprop-service's version.")
    dataset_sha256: str = Field(description="sha256 of the built-in dataset's CSV file.")
    python: str = Field(description="Python version, e.g. '3.11.7'.")
    libraries: dict[str, str] = Field(
        description="Installed version of numpy, numba, scikit-learn, fastapi, pydantic, "
        "pydantic-core and orjson."
    )
