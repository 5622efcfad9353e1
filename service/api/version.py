"""What is running: the service, its dataset, and the libraries that affect its numbers."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib.metadata import version as installed

from fastapi import APIRouter
from pydantic import Field

from service import __version__
from service.api.schemas import Schema
from service.core.dataset import load_dataset

# Libraries whose version can change a number in a response (or how it is parsed and printed).
LIBRARIES = ("numpy", "numba", "scikit-learn", "fastapi", "pydantic", "pydantic-core", "orjson")

router = APIRouter(tags=["operations"])


class VersionResponse(Schema):
    """Versions that identify the numbers this process produces."""

    service: str = Field(description="backprop-service's version.")
    dataset_sha256: str = Field(description="sha256 of the built-in dataset's CSV file.")
    python: str = Field(description="Python version, e.g. '3.11.7'.")
    libraries: dict[str, str] = Field(
        description="Installed version of numpy, numba, scikit-learn, fastapi, pydantic, "
        "pydantic-core and orjson."
    )


@lru_cache(maxsize=1)
def describe() -> VersionResponse:
    """Collect the versions once per process."""
    return VersionResponse(
        service=__version__,
        dataset_sha256=load_dataset().sha256,
        python=platform.python_version(),
        libraries={name: installed(name) for name in LIBRARIES},
    )


@router.get("/version", summary="Service, dataset and library versions")
async def version() -> VersionResponse:
    """Report what produced the numbers: quote it alongside a result to make it reproducible."""
    return describe()
