"""POST /train/plot and /compare/plot: real PNG and SVG images of the loss curves."""

from __future__ import annotations

from typing import Any

import pytest

from api_tests.support.images import (
    group,
    groups_with_prefix,
    png_pixels,
    png_size,
    svg_root,
    texts,
)

SVG = {"Accept": "image/svg+xml"}


def test_train_plot_answers_a_png_of_800_by_500_by_default(client: Any) -> None:
    response = client.post("/train/plot", json={"epochs": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["vary"] == "Accept"
    assert png_size(response.content) == (800, 500)
    pixels = png_pixels(response.content)
    assert pixels.shape[:2] == (500, 800)
    assert pixels.min() < 0.5 < pixels.max()  # something is drawn on the white background


def test_train_plot_in_svg_has_one_labelled_line_titled_axes_and_the_run_title(
    client: Any,
) -> None:
    response = client.post("/train/plot", json={"optimizer": "adam", "epochs": 5}, headers=SVG)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = svg_root(response.content)
    assert (root.get("width"), root.get("height")) == ("576pt", "360pt")  # 8 x 5 inches
    assert len(groups_with_prefix(root, "curve-")) == 1
    words = list(texts(root))
    assert {"epoch", "mean loss over the epoch", "adam"} <= set(words)
    assert "Training loss: adam, 5 epochs, seed 0" in words


def test_compare_plot_draws_one_line_per_configuration_with_its_label(client: Any) -> None:
    body = {
        "configs": [
            {"optimizer": "sgd"},
            {"optimizer": "momentum", "label": "momentum b=0.5", "beta": 0.5},
            {"optimizer": "adam"},
            {"optimizer": "rmsprop"},
        ],
        "epochs": 4,
    }
    response = client.post("/compare/plot", json=body, headers=SVG)
    assert response.status_code == 200
    root = svg_root(response.content)
    curves = groups_with_prefix(root, "curve-")
    assert [c.get("id") for c in curves] == ["curve-0", "curve-1", "curve-2", "curve-3"]
    legend = list(texts(group(root, "legend_1")))
    assert legend == ["optimizer", "sgd", "momentum b=0.5", "adam", "rmsprop"]


def test_each_line_has_one_vertex_per_epoch(client: Any) -> None:
    response = client.post("/compare/plot", json={"epochs": 7}, headers=SVG)
    root = svg_root(response.content)
    for curve in groups_with_prefix(root, "curve-"):
        path = curve.find("{http://www.w3.org/2000/svg}path")
        assert path is not None
        commands = path.get("d", "").split()
        assert commands[0] == "M"  # 7 points: a move, then 6 lines
        assert commands.count("L") == 6


def test_the_default_compare_plot_is_the_course_comparison_as_png(client: Any) -> None:
    response = client.post("/compare/plot", json={})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert png_size(response.content) == (800, 500)


def test_log_scale_is_asked_with_a_query_parameter(client: Any) -> None:
    response = client.post("/compare/plot?log=true", json={"epochs": 3}, headers=SVG)
    assert response.status_code == 200
    assert "mean loss over the epoch (log scale)" in texts(svg_root(response.content))


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "image/png"),
        ("*/*", "image/png"),
        ("image/*", "image/png"),
        ("image/svg+xml", "image/svg+xml"),
        ("image/png;q=0.5, image/svg+xml", "image/svg+xml"),
        ("image/svg+xml;q=0.2, image/*;q=0.9", "image/png"),
        ("text/html, image/svg+xml;q=0.8, */*;q=0.1", "image/svg+xml"),
        ("application/json", "image/png"),
    ],
)
def test_the_accept_header_chooses_png_or_svg(
    client: Any, accept: str | None, media_type: str
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = client.post("/train/plot", json={"epochs": 1}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/train/plot", {"optimizer": "nadam"}, "body.optimizer"),
        ("/train/plot", {"epochs": 0}, "body.epochs"),
        ("/compare/plot", {"configs": []}, "body.configs"),
        ("/compare/plot", {"epochs": 10_001}, "BACKPROP_MAX_EPOCHS"),
    ],
)
def test_plots_reject_bad_bodies_with_a_problem_not_an_image(
    client: Any, path: str, body: dict[str, Any], fragment: str
) -> None:
    response = client.post(path, json=body, headers=SVG)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text


def test_the_log_parameter_must_be_a_boolean(client: Any) -> None:
    response = client.post("/train/plot?log=maybe", json={"epochs": 1})
    assert response.status_code == 422
    assert "query.log" in response.text


def test_openapi_declares_the_image_media_types_of_the_plots(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/train/plot", "/compare/plot"):
        content = paths[path]["post"]["responses"]["200"]["content"]
        assert list(content) == ["image/png", "image/svg+xml"]
        assert paths[path]["post"]["parameters"][0]["name"] == "log"


NEURON_DATA = {"X": [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]], "y": [0.0, 1.0, 0.0]}
INLINE = {
    "inputs": ["f4", "f2"],
    "weights": ["a", "b", "c"],
    "nodes": {"_h": "tanh(a*f4 + b*f2)", "y_pred": "_h + c"},
}


def test_a_preset_s_training_plot_names_the_graph_in_title_and_legend(client: Any) -> None:
    body = {"graph": "cs231n_neuron", "data": NEURON_DATA, "optimizer": "adam", "epochs": 5}
    response = client.post("/train/plot", json=body, headers=SVG)
    assert response.status_code == 200, response.text
    root = svg_root(response.content)
    words = list(texts(root))
    assert "Training loss: adam, 5 epochs, seed 0" in words
    assert "graph cs231n_neuron" in words  # the title's second line
    assert list(texts(group(root, "legend_1"))) == ["optimizer (graph cs231n_neuron)", "adam"]


def test_an_inline_graph_s_comparison_plot_names_it_by_its_id(client: Any) -> None:
    graph_id = client.post("/graphs/check", json={"graph": INLINE}).json()["id"]
    body = {"graph": INLINE, "configs": [{"optimizer": "sgd"}, {"optimizer": "adam"}]}
    response = client.post("/compare/plot", json={**body, "epochs": 3}, headers=SVG)
    assert response.status_code == 200, response.text
    root = svg_root(response.content)
    named = f"inline graph {graph_id[:8]}"
    assert named in list(texts(root))
    legend = list(texts(group(root, "legend_1")))
    assert legend == [f"optimizer ({named})", "sgd", "adam"]


def test_the_course_s_plots_name_no_graph_even_when_asked_by_name(client: Any) -> None:
    for body in ({"epochs": 3}, {"epochs": 3, "graph": "course"}):
        root = svg_root(client.post("/train/plot", json=body, headers=SVG).content)
        assert not [word for word in texts(root) if "graph" in word]
        assert list(texts(group(root, "legend_1"))) == ["optimizer", "sgd"]
