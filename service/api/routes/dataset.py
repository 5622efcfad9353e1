"""Routes that serve the built-in dataset.

Tested by api_tests/test_dataset.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from service.api.schemas.dataset import DatasetResponse
from service.core.dataset import BUILTIN_ROWS, COLUMNS, load_dataset, read_csv_bytes

router = APIRouter(tags=["dataset"])


@router.get("/dataset", summary="Page through the built-in dataset")
async def dataset(
    offset: Annotated[int, Query(ge=0, le=BUILTIN_ROWS, description="First row.")] = 0,
    limit: Annotated[int, Query(ge=1, le=BUILTIN_ROWS, description="Most rows.")] = 20,
) -> DatasetResponse:
    """The course's 506 rows (SPEC §2), paged, with the file's sha256."""
    data = load_dataset()
    X, y = data.X[offset : offset + limit], data.y[offset : offset + limit]
    rows = [[*features, target] for features, target in zip(X.tolist(), y.tolist(), strict=True)]
    return DatasetResponse(
        n=data.n, columns=list(COLUMNS), sha256=data.sha256, offset=offset, limit=limit, rows=rows
    )


@router.get(
    "/dataset.csv",
    summary="Download the built-in dataset as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The shipped CSV file."}},
)
async def dataset_csv() -> Response:
    """The shipped file itself, byte for byte."""
    return Response(
        read_csv_bytes(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="backprop_data.csv"'},
    )
