"""Response model of GET /dataset.

Tested by api_tests/test_dataset.py.
"""

from __future__ import annotations

from pydantic import Field

from service.api.schemas.base import Schema


class DatasetResponse(Schema):
    """A page of the built-in dataset with what identifies it."""

    n: int = Field(description="Total number of rows.")
    columns: list[str] = Field(description="Column names, f1..f5 then y.")
    sha256: str = Field(description="sha256 of the shipped CSV file.")
    offset: int = Field(description="Index of the first row returned.")
    limit: int = Field(description="Most rows asked for.")
    rows: list[list[float]] = Field(description="The rows, each [f1, f2, f3, f4, f5, y].")
