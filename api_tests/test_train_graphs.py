"""/train, /train/batch, /compare and the loss plot on graphs other than the course's.

The answers equal the core's readable reference (service.core.training.loop.run with
reference=True), bit for bit; lengths and inputs are checked against the graph with 422s naming
what it expects; streaming answers the same JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from api_tests.support.sse import parse
from service.core.graphs.definition import define
from service.core.graphs.presets import builtin
from service.core.training.loop import TrainConfig, run

DATASET_GRAPH = {
    "inputs": ["f4", "f2"],
    "weights": ["a", "b", "c"],
    "nodes": {"_h": "tanh(a*f4 + b*f2)", "y_pred": "_h + c"},
}
DATA = {"X": [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]], "y": [0.1, -0.3, 0.7]}


def _reference(graph: Any, **fields: Any) -> Any:
    config = TrainConfig.named(fields.pop("optimizer", "sgd"), fields.pop("hyper", {}),
                               graph=graph, **fields)  # fmt: skip
    return run(config, reference=True)


def test_train_on_the_lecture_preset_with_custom_data_equals_the_reference(client: Any) -> None:
    body = {"graph": "cs231n_neuron", "optimizer": "adam", "epochs": 4, "data": DATA}
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    reference = _reference(
        builtin()["cs231n_neuron"], optimizer="adam", epochs=4, X=DATA["X"], y=DATA["y"]
    )
    assert answer["loss_history"] == reference.loss_history
    assert answer["final_weights"] == reference.final_weights
    assert answer["initial_weights"] == np.random.default_rng(0).normal(0, 0.01, 3).tolist()


def test_an_inline_graph_of_dataset_columns_trains_on_the_dataset(client: Any) -> None:
    body = {"graph": DATASET_GRAPH, "optimizer": "rmsprop", "epochs": 2, "shuffle": True,
            "seed": 5, "clip_grad_norm": {"max_norm": 0.01}}  # fmt: skip
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    from service.core.training.clipping import Clipping

    config = TrainConfig.named(
        "rmsprop", {}, Clipping(max_norm=0.01), graph=define(DATASET_GRAPH), epochs=2,
        shuffle=True, seed=5,
    )  # fmt: skip
    reference = run(config, reference=True)
    assert response.json()["loss_history"] == reference.loss_history
    assert response.json()["final_weights"] == reference.final_weights
    assert response.json()["steps"] == 2 * 506


def test_batch_and_compare_train_graphs_and_the_course_side_by_side(client: Any) -> None:
    lecture = {"graph": "cs231n_neuron", "data": DATA, "epochs": 3}
    batch = client.post("/train/batch", json={"configs": [lecture, {"epochs": 3}]})
    assert batch.status_code == 200, batch.text
    alone = client.post("/train", json=lecture).json()
    course = client.post("/train", json={"epochs": 3}).json()
    assert batch.json()["results"] == [alone, course]
    configs = [{"optimizer": "sgd"}, {"optimizer": "adam"}]
    compare = client.post("/compare", json={**lecture, "configs": configs})
    assert compare.status_code == 200, compare.text
    runs = compare.json()["runs"]
    assert runs[0]["loss_history"] == alone["loss_history"]
    assert len(runs[1]["final_weights"]) == 3


def test_the_loss_plot_draws_a_graph_s_training(client: Any) -> None:
    response = client.post("/train/plot", json={"graph": "cs231n_neuron", "data": DATA})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"


def test_streaming_a_graph_s_training_ends_with_the_json_answer(client: Any) -> None:
    body = {"graph": "cs231n_neuron", "data": DATA, "epochs": 50}
    plain = client.post("/train", json=body).json()
    response = client.post("/train", json=body, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200
    events = parse(response.text)
    assert events[-1].json() == plain


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"graph": "cs231n_neuron", "data": DATA, "initial_weights": [0.1] * 9}, "takes 3"),
        ({"graph": "cs231n_neuron", "data": {"X": [[1.0]], "y": [1.0]}}, "takes 2 inputs"),
        ({"graph": "cs231n_neuron"}, "'x0', 'x1' are not"),
        ({"graph": "no_such_graph"}, "no graph preset"),
        ({"graph": {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w*"}}}, "y_pred"),
        ({"initial_weights": [0.1] * 3}, "body.initial_weights"),
        ({"data": {"X": [[1.0, 2.0]], "y": [1.0]}}, "body.data"),
        ({"data": {"X": [[1.0, 2.0], [1.0]], "y": [1.0, 2.0]}}, "same number"),
    ],
)
def test_lengths_and_inputs_are_checked_against_the_graph(
    client: Any, body: dict[str, Any], fragment: str
) -> None:
    for path in ("/train", "/compare"):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert fragment in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"graph": "cs231n_neuron", "data": DATA, "initial_weights": [0.1] * 9},
         "body.initial_weights", "too_long"),
        ({"graph": "cs231n_neuron", "data": DATA, "initial_weights": [0.1]},
         "body.initial_weights", "too_short"),
        ({"graph": "cs231n_neuron", "data": {"X": [[1.0]], "y": [1.0]}}, "body.data.X.0",
         "too_short"),
        ({"graph": "cs231n_neuron", "data": {"X": [[1.0, 2.0, 3.0]], "y": [1.0]}},
         "body.data.X.0", "too_long"),
        ({"graph": "cs231n_neuron"}, "body.data", "missing"),
    ],
)  # fmt: skip
def test_a_length_that_does_not_fit_the_graph_is_located_at_its_field(
    client: Any, body: dict[str, Any], loc: str, kind: str
) -> None:
    for path in ("/train", "/compare", "/train/plot"):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert (error["loc"], error["type"]) == (loc, kind)
        assert error["msg"] == response.json()["detail"]
    batch = client.post("/train/batch", json={"configs": [{"epochs": 1}, body]})
    assert batch.status_code == 422, batch.text
    (error,) = batch.json()["errors"]
    assert error["loc"] == "body.configs.1." + loc.removeprefix("body.")
