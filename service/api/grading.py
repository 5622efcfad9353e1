"""Routes of grading: an auto-grader sends a student's answer and gets a score and feedback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from service.api.grader import grade_batch as grade_all
from service.api.grader import grade_one
from service.api.grading_schemas import (
    GradeBatchRequest,
    GradeBatchResponse,
    GradeRequest,
    GradeResponse,
)
from service.api.schemas import COURSE_W
from service.core.graph import GRADIENT_NAMES
from service.core.selfcheck import REFERENCE_FORWARD, REFERENCE_GRADIENTS
from service.settings import Settings, get_settings

router = APIRouter(tags=["grading"])

ROW0 = {"w": COURSE_W, "row": 0}
COURSE_FORWARD = dict(REFERENCE_FORWARD)
COURSE_GRADIENTS = dict(zip(GRADIENT_NAMES, REFERENCE_GRADIENTS, strict=True))
COURSE_SGD_3_EPOCHS = [0.6971190975160021, 0.34157827684854475, 0.18041209251675192]


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


EXAMPLES = {
    "forward": _example(
        "Forward at the course's point, the course's values: full score",
        {"task": "forward", "case": ROW0, "submission": COURSE_FORWARD},
    ),
    "forward_wrong": _example(
        "Forward with dy_pred's sign flipped: diagnosed",
        {
            "task": "forward",
            "case": ROW0,
            "submission": {**COURSE_FORWARD, "dy_pred": 1.9285278284819143},
            "reveal_expected": True,
        },
    ),
    "backward": _example(
        "Backward: the course's gradients at 6 decimals, as Gradescope results.json",
        {"task": "backward", "case": ROW0, "submission": COURSE_GRADIENTS, "format": "gradescope"},
    ),
    "gradcheck": _example(
        "Gradient check at the course's point, as PrairieLearn results",
        {
            "task": "gradcheck",
            "case": {**ROW0, "eps": 1e-7},
            "submission": {"difference": 4.169157213438978e-10},
            "format": "prairielearn",
        },
    ),
    "train": _example(
        "Training: the course's vanilla SGD, 3 epochs",
        {
            "task": "train",
            "case": {"optimizer": "sgd", "epochs": 3, "seed": 0},
            "submission": {"loss_history": COURSE_SGD_3_EPOCHS},
        },
    ),
}


@router.post("/grade", summary="Grade one submission of forward, backward, gradcheck or train")
async def grade(
    body: Annotated[
        GradeRequest,
        Body(examples=[EXAMPLES["forward"]["value"]], openapi_examples=EXAMPLES),
    ],
    settings: Annotated[Settings, Depends(get_settings)],
) -> GradeResponse:
    """Recompute the case, compare each submitted item with the policy, and say why it is wrong.

    Failed items are matched against the common wrong versions of the same computation (sign of
    dy_pred flipped, tanh's derivative as 1 - tanh, one-sided differences, full-batch training,
    ...). Answers in the native shape, Gradescope's results.json, or PrairieLearn's results;
    every answer carries the service version and the dataset's sha256.
    """
    return await grade_one(body, settings)


@router.post("/grade/batch", summary="Grade up to 1000 submissions independently, in order")
async def grade_batch(
    body: Annotated[
        GradeBatchRequest,
        Body(
            openapi_examples={
                "mixed": _example(
                    "A right forward, a wrong backward, and a malformed item",
                    {
                        "items": [
                            EXAMPLES["forward"]["value"],
                            {
                                "task": "backward",
                                "case": ROW0,
                                "submission": {**COURSE_GRADIENTS, "dw1": -0.114866},
                            },
                            {"task": "forward", "case": {"w": [0.1] * 8, "row": 0}},
                        ]
                    },
                )
            }
        ),
    ],
    settings: Annotated[Settings, Depends(get_settings)],
) -> GradeBatchResponse:
    """Each item is exactly a POST /grade body, validated and graded on its own: a malformed one
    comes back `gradable: false` with its reason and does not affect the others.
    """
    return await grade_all(body.items, settings)
