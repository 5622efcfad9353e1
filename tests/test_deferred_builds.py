"""Models defined during deferred_model_builds wait for their first use; later ones do not."""

from __future__ import annotations

from pydantic import BaseModel

from service.deferred_builds import deferred_model_builds


def test_a_model_defined_meanwhile_is_built_on_its_first_use() -> None:
    with deferred_model_builds():

        class Late(BaseModel):
            x: int

    assert not Late.__pydantic_complete__
    assert Late(x=1).x == 1
    assert Late.__pydantic_complete__


def test_a_model_defined_afterwards_is_built_with_its_class() -> None:
    with deferred_model_builds():
        pass

    class Eager(BaseModel):
        x: int

    assert Eager.__pydantic_complete__
