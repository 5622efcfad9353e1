"""POST /compare: several optimizers from the same start and row order, and who did best."""

from __future__ import annotations

from typing import Any

import pytest

COURSE = ("sgd", "momentum", "adam")


@pytest.fixture(scope="module")
def course(client: Any) -> dict[str, Any]:
    """The default comparison: the course's three optimizers, 20 epochs, seed 0."""
    response = client.post("/compare", json={})
    assert response.status_code == 200
    return dict(response.json())


def test_compare_defaults_to_the_course_optimizers_with_the_course_settings(
    course: dict[str, Any],
) -> None:
    runs = course["runs"]
    assert [run["label"] for run in runs] == list(COURSE)
    assert [run["optimizer"]["hyperparameters"]["learning_rate"] for run in runs] == [
        0.001,
        0.01,
        0.001,
    ]
    assert runs[1]["optimizer"]["hyperparameters"]["beta"] == 0.9
    assert runs[2]["optimizer"]["hyperparameters"]["bias_correction"] is False
    assert all(run["epochs"] == 20 and len(run["loss_history"]) == 20 for run in runs)


def test_compare_starts_every_run_from_the_same_initial_weights(course: dict[str, Any]) -> None:
    starts = [run["initial_weights"] for run in course["runs"]]
    assert starts[0] == starts[1] == starts[2]
    assert starts[0] != [run["final_weights"] for run in course["runs"]][0]


def test_compare_histories_equal_train_with_the_same_settings(
    client: Any, course: dict[str, Any]
) -> None:
    for run in course["runs"]:
        alone = client.post("/train", json={"optimizer": run["label"], "epochs": 20, "seed": 0})
        assert alone.status_code == 200
        assert alone.json()["loss_history"] == run["loss_history"]
        assert alone.json()["final_weights"] == run["final_weights"]


def test_compare_reports_final_losses_and_epochs_to_threshold_from_the_histories(
    course: dict[str, Any],
) -> None:
    assert course["threshold"] == 0.01
    for run in course["runs"]:
        history = run["loss_history"]
        assert run["final_loss"] == history[-1]
        below = [epoch for epoch, loss in enumerate(history, 1) if loss <= 0.01]
        assert run["epochs_to_threshold"] == (below[0] if below else None)
    by_label = {run["label"]: run["epochs_to_threshold"] for run in course["runs"]}
    assert by_label == {"sgd": None, "momentum": 12, "adam": 2}


def test_adam_converges_fastest_and_ends_lowest_in_the_course_comparison(
    course: dict[str, Any],
) -> None:
    finals = {run["label"]: run["final_loss"] for run in course["runs"]}
    assert course["lowest_final_loss"] == min(finals, key=finals.__getitem__) == "adam"
    assert course["converged_fastest"] == "adam"


def test_compare_with_shuffle_gives_identical_configurations_the_same_row_order(
    client: Any,
) -> None:
    body = {"configs": [{"optimizer": "sgd"}, {"optimizer": "sgd"}], "epochs": 3, "shuffle": True}
    response = client.post("/compare", json=body)
    assert response.status_code == 200
    first, second = response.json()["runs"]
    assert (first["label"], second["label"]) == ("sgd #1", "sgd #2")
    assert first["loss_history"] == second["loss_history"]
    unshuffled = client.post("/train", json={"epochs": 3}).json()["loss_history"]
    assert first["loss_history"] != unshuffled


def test_a_threshold_no_run_reaches_leaves_converged_fastest_null(client: Any) -> None:
    response = client.post("/compare", json={"epochs": 2, "threshold": 1e-12})
    assert response.status_code == 200
    body = response.json()
    assert body["converged_fastest"] is None
    assert all(run["epochs_to_threshold"] is None for run in body["runs"])
    assert body["lowest_final_loss"] in COURSE


def test_a_diverging_run_is_reported_and_left_out_of_the_winners(client: Any) -> None:
    body = {
        "configs": [
            {"optimizer": "sgd", "learning_rate": 1e6, "label": "wild"},
            {"optimizer": "adam"},
        ],
        "epochs": 3,
        "threshold": 100.0,
    }
    response = client.post("/compare", json=body)
    assert response.status_code == 200
    wild, adam = response.json()["runs"]
    assert wild["status"] == "diverged"
    assert wild["final_loss"] is None
    assert response.json()["converged_fastest"] == "adam"
    assert response.json()["lowest_final_loss"] == "adam"
    assert adam["final_loss"] == adam["loss_history"][-1]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"configs": []}, "body.configs"),
        ({"configs": [{"optimizer": "sgd"}] * 11}, "body.configs"),
        ({"configs": [{"optimizer": "nadam"}]}, "body.configs.0.optimizer"),
        ({"configs": [{"optimizer": "sgd", "seed": 1}]}, "body.configs.0.seed"),
        ({"configs": [{"optimizer": "sgd", "label": "x"}, {"optimizer": "adam", "label": "x"}]},
         "distinct label"),
        ({"configs": [{"optimizer": "adam", "beta": 0.5}]}, "does not take beta"),
        ({"threshold": 0}, "body.threshold"),
        ({"epochs": 10_001}, "BACKPROP_MAX_EPOCHS"),
        ({"configs": [{"optimizer": "sgd"}] * 10, "epochs": 10_000}, "rows x epochs x"),
    ],
)  # fmt: skip
def test_compare_rejects_bad_input_with_a_useful_problem(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/compare", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text
    assert client.get("/health").status_code == 200
