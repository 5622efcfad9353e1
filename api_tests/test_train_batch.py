"""POST /train/batch: the same results as /train one by one, in order, within the limits."""

from __future__ import annotations

from typing import Any

import pytest

CONFIGS: list[dict[str, Any]] = [
    {"optimizer": "sgd"},
    {"optimizer": "momentum", "shuffle": True, "seed": 3},
    {"optimizer": "adam", "epochs": 5},
    {"optimizer": "adam", "bias_correction": True, "amsgrad": True, "epochs": 3},
    {"optimizer": "rmsprop", "centered": True, "momentum": 0.5, "epochs": 2},
    {"optimizer": "sgd", "learning_rate": 1000.0},
    {
        "optimizer": "adagrad",
        "epochs": 4,
        "data": {"X": [[1, 2, 3, 4, 5], [0.5, 0, -1, 2, 1]], "y": [1, -1]},
        "standardize": True,
    },
]


def test_train_batch_equals_train_one_by_one_in_request_order(client: Any) -> None:
    response = client.post("/train/batch", json={"configs": CONFIGS})
    assert response.status_code == 200
    one_by_one = [client.post("/train", json=config).json() for config in CONFIGS]
    assert response.json() == {"results": one_by_one}
    assert [r["status"] for r in one_by_one].count("diverged") == 1


def test_train_batch_example_runs_the_three_course_optimizers(client: Any) -> None:
    example = client.get("/openapi.json").json()["components"]["schemas"]["TrainBatchRequest"]
    body = example["examples"][0]
    response = client.post("/train/batch", json=body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["optimizer"]["name"] for r in results] == ["sgd", "momentum", "adam"]
    assert all(r["loss_history"][-1] < r["loss_history"][0] for r in results)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"configs": []}, 422, "body.configs"),
        ({"configs": [{}] * 65}, 422, "body.configs"),
        ({}, 422, "body.configs"),
        ({"configs": [{"optimizer": "nadam"}]}, 422, "body.configs.0.optimizer"),
        ({"configs": [{}, {"optimizer": "sgd", "beta1": 0.9}]}, 422, "configs[1]"),
        ({"configs": [{"epochs": 10**6}]}, 422, "BACKPROP_MAX_EPOCHS"),
        ({"configs": [{"epochs": 10_000}] * 10}, 422, "summed over its 10 configurations"),
    ],
)
def test_train_batch_rejects_bad_batches_with_a_problem(
    client: Any, body: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.post("/train/batch", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]
    assert client.get("/health").status_code == 200


def test_train_batch_names_the_member_with_a_foreign_hyperparameter(client: Any) -> None:
    body = {"configs": [{}, {"optimizer": "sgd", "beta1": 0.9}]}
    problem = client.post("/train/batch", json=body).json()
    assert problem["errors"] == [
        {
            "loc": "body.configs.1.beta1",
            "msg": "not a hyperparameter of 'sgd'",
            "type": "extra_forbidden",
        }
    ]
