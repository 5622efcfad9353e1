"""The shared base of every request and response model, and the field types they reuse.

Tested by api_tests/test_forward.py and api_tests/test_hostile.py.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Schema(BaseModel):
    """Strict base: unknown fields rejected, only finite numbers, no strings for numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_floats_as_ints(cls, data: Any) -> Any:
        """JSON (and OpenAPI's 'integer') does not tell 3 from 3.0: an int field takes 3.0 as 3."""
        if not isinstance(data, dict):
            return data
        ints = {
            name: int(value)
            for name in _int_fields(cls)
            if isinstance(value := data.get(name), float) and value.is_integer()
        }
        return {**data, **ints} if ints else data


@cache
def _int_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Names of a model's fields typed int or int | None."""

    def takes_int(annotation: Any) -> bool:
        if get_origin(annotation) in (Union, types.UnionType):
            return int in get_args(annotation) and all(
                arg in (int, type(None)) for arg in get_args(annotation)
            )
        return annotation is int

    return tuple(
        field.alias or name
        for name, field in model.model_fields.items()
        if takes_int(field.annotation)
    )


Float = Annotated[float, Field(allow_inf_nan=False)]
Weights = Annotated[
    list[Float],
    Field(min_length=9, max_length=9, description="The nine weights w1..w9, in order."),
]
Features = Annotated[
    list[Float],
    Field(min_length=5, max_length=5, description="The five features f1..f5, in order."),
]
COURSE_W: list[Any] = [0.1] * 9  # the course's point: w = [0.1]*9 (with row 0)


def _is_none(value: Any) -> bool:
    return value is None


def omitted_when_null(description: str) -> Any:
    """A field that defaults to None and is left out of the answer while it is None."""
    return Field(None, exclude_if=_is_none, description=description)
