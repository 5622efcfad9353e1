"""GET /graph (the structure) and POST /graph (the picture with every value and gradient)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api_tests.support.course import COURSE_W
from api_tests.support.images import group, png_size, svg_root, texts

LEAVES = {f"f{i}" for i in range(1, 6)} | {f"w{i}" for i in range(1, 10)} | {"y"}
OPERATIONS = ["a", "exp", "tanh", "sin", "q", "sigmoid", "y_pred", "loss"]
POINTS = [
    {"w": COURSE_W, "row": 0},
    {"w": [0.5, -1.2, 2.0, 0.3, -0.7, 0.05, -0.4, 1.5, -2.5], "row": 123},
    {"w": [1.0] * 9, "x": [0.3, -0.2, 1.1, 0.0, -2.0], "y": -0.75},
]


def printed(value: float) -> str:
    """How the picture prints numbers (documented on POST /graph): 6 significant digits."""
    return format(value, ".6g")


@pytest.fixture(scope="module")
def structure(client: Any) -> dict[str, Any]:
    response = client.get("/graph")
    assert response.status_code == 200
    return dict(response.json())


def test_graph_structure_lists_every_leaf_and_operation(structure: dict[str, Any]) -> None:
    names = [node["name"] for node in structure["nodes"]]
    assert len(names) == len(set(names)) == 23
    assert set(names) == LEAVES | set(OPERATIONS)
    operations = [n["name"] for n in structure["nodes"] if n["kind"] == "operation"]
    assert operations == OPERATIONS  # forward order
    weights = [n for n in structure["nodes"] if n["kind"] == "weight"]
    assert all(n["gradient"].startswith(f"d{n['name']} = ") for n in weights)


def test_graph_edges_are_exactly_the_inputs_of_each_operation(structure: dict[str, Any]) -> None:
    edges = {(e["source"], e["target"]) for e in structure["edges"]}
    inputs = {(i, n["name"]) for n in structure["nodes"] for i in n["inputs"]}
    assert edges == inputs
    by_name = {n["name"]: n for n in structure["nodes"]}
    assert set(by_name["sigmoid"]["inputs"]) == {"sin", "q", "w8"}
    assert set(by_name["loss"]["inputs"]) == {"y_pred", "y"}
    assert by_name["exp"]["formula"] == "exp = e^(a*a + w6)"


@pytest.mark.parametrize("point", POINTS)
def test_graph_svg_shows_every_node_with_the_values_and_gradients_backward_returns(
    client: Any, structure: dict[str, Any], point: dict[str, Any]
) -> None:
    response = client.post("/graph", json=point)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = svg_root(response.content)
    assert (root.get("width"), root.get("height")) == ("1152pt", "720pt")  # 16 x 10 inches
    backward = client.post("/backward", json=point).json()
    for node in structure["nodes"]:
        lines = list(texts(group(root, f"node-{node['name']}")))
        label = (
            node["formula"] if node["kind"] == "operation" else f"{node['name']} ({node['kind']})"
        )
        assert lines[0] == label
    for name in ("exp", "tanh", "sigmoid", "y_pred", "loss"):
        node_lines = list(texts(group(root, f"node-{name}")))
        assert f"value {printed(backward['forward'][name])}" in node_lines
    assert f"grad {printed(backward['forward']['dy_pred'])}" in texts(group(root, "node-y_pred"))
    for i in range(1, 10):
        node_lines = list(texts(group(root, f"node-w{i}")))
        assert node_lines[1:] == [
            f"value {printed(point['w'][i - 1])}",
            f"grad {printed(backward['gradients'][f'dw{i}'])}",
        ]


def test_graph_of_the_course_point_prints_the_course_gradients(client: Any) -> None:
    root = svg_root(client.post("/graph", json={"w": COURSE_W, "row": 0}).content)
    everything = set(texts(root))
    for grad in ("-0.229733", "-0.0214076", "-0.00562541", "-0.633475", "-1.0181"):
        assert f"grad {grad}" in everything
    assert "value 0.929805" in everything  # the loss
    assert "The course's graph at row 0: loss 0.929805" in everything


def test_graph_answers_png_of_1600_by_1000_when_asked(client: Any) -> None:
    response = client.post("/graph", json=POINTS[0], headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert png_size(response.content) == (1600, 1000)


@pytest.mark.parametrize(
    ("point", "fragment"),
    [
        ({"w": [0.1] * 8, "row": 0}, "body.w"),
        ({"w": COURSE_W}, "give either"),
        ({"w": [30.0] * 9, "x": [30.0] * 5, "y": 0.0}, "overflowed"),
    ],
)
def test_graph_rejects_bad_points_with_a_problem(
    client: Any, point: dict[str, Any], fragment: str
) -> None:
    response = client.post("/graph", json=point)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text


def test_openapi_declares_svg_first_for_the_graph(client: Any) -> None:
    post = client.get("/openapi.json").json()["paths"]["/graph"]["post"]
    assert list(post["responses"]["200"]["content"]) == ["image/svg+xml", "image/png"]


CS231N = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}
INLINE = {
    "inputs": ["x1", "x2"],
    "weights": ["a", "b", "c"],
    "nodes": {"_h": "tanh(a*x1 + b*x2)", "g": "sigmoid(c*_h) + _h", "y_pred": "g*g + x1"},
}


def _drawn(root: Any, name: str) -> list[str]:
    return list(texts(group(root, f"node-{name}")))


def test_the_cs231n_picture_prints_the_lecture_s_numbers_as_backward_gives_them(
    client: Any,
) -> None:
    response = client.post("/graph", json=CS231N)
    assert response.status_code == 200
    root = svg_root(response.content)
    backward = client.post("/backward", json=CS231N).json()
    for i, name in enumerate(("w0", "w1", "w2")):
        grad = backward["gradients"][f"d{name}"]
        assert _drawn(root, name) == [
            f"{name} (weight)",
            f"value {printed(CS231N['w'][i])}",
            f"grad {printed(grad)}",
        ]
    for i, name in enumerate(("x0", "x1")):
        grad = backward["input_gradients"][f"d{name}"]
        assert _drawn(root, name)[1:] == [
            f"value {printed(CS231N['x'][i])}",
            f"grad {printed(grad)}",
        ]
    # The lecture's numbers, rounded as the slide rounds them.
    grads = [float(_drawn(root, w)[2].split()[1]) for w in ("w0", "w1", "w2")]
    assert [round(g, 2) for g in grads] == [-0.20, -0.39, 0.20]
    assert [round(float(_drawn(root, x)[2].split()[1]), 2) for x in ("x0", "x1")] == [0.39, -0.59]
    assert _drawn(root, "y_pred")[1] == f"value {printed(backward['forward']['y_pred'])}"
    assert round(backward["forward"]["y_pred"], 2) == 0.73
    assert not [g for g in root.iter() if g.get("id") == "node-y"]  # its loss does not use y
    assert "'cs231n_neuron' at the given x and y: loss 0.731059" in set(texts(root))


def test_an_inline_graph_is_drawn_from_its_structure_internal_nodes_too(client: Any) -> None:
    point = {"graph": INLINE, "w": [0.5, -0.25, 2.0], "x": [0.4, -1.2], "y": 0.3}
    root = svg_root(client.post("/graph", json=point).content)
    described = client.post("/graphs/check", json={"graph": INLINE}).json()
    backward = client.post("/backward", json=point).json()
    for node in described["nodes"]:
        lines = _drawn(root, node["name"])
        if node["kind"] in ("input", "weight", "target"):
            assert lines[0] == f"{node['name']} ({node['kind']})"
        else:
            assert lines[0] == node["formula"]
    assert _drawn(root, "_h")[0] == "_h = tanh(a*x1 + b*x2)"  # internal: drawn, not reported
    assert "_h" not in backward["forward"]
    assert _drawn(root, "g")[1] == f"value {printed(backward['forward']['g'])}"
    assert _drawn(root, "loss")[1:] == [f"value {printed(backward['forward']['loss'])}", "grad 1"]
    assert _drawn(root, "y_pred")[2] == f"grad {printed(backward['forward']['dy_pred'])}"
    assert _drawn(root, "x2")[2] == f"grad {printed(backward['input_gradients']['dx2'])}"
    assert _drawn(root, "y") == ["y (target)", "value 0.3"]
    assert "The inline graph at the given x and y" in " ".join(texts(root))


def test_the_course_named_is_the_course_drawn_as_before(client: Any) -> None:
    default = client.post("/graph", json={"w": COURSE_W, "row": 0})
    named = client.post("/graph", json={"graph": "course", "w": COURSE_W, "row": 0})
    clip_ids = re.compile(rb"p[0-9a-f]{10}")  # matplotlib's random clip-path ids
    assert clip_ids.sub(b"", named.content) == clip_ids.sub(b"", default.content)
    assert b'id="node-q"' in named.content  # the course's hand-drawn picture (a, q, sin, ...)


def test_another_graph_s_png_is_sized_to_its_layout(client: Any) -> None:
    response = client.post("/graph", json=CS231N, headers={"Accept": "image/png"})
    assert response.status_code == 200
    width, height = png_size(response.content)
    assert (width, height) != (1600, 1000)
    assert max(width, height) <= 10_000
    assert width * height <= 16_000_000


@pytest.mark.parametrize(
    ("point", "fragment"),
    [
        ({**CS231N, "graph": "no_such_graph"}, "no graph preset is named"),
        ({**CS231N, "w": [1.0, 2.0]}, "the graph takes 3"),
        ({**CS231N, "row": 0, "x": None, "y": None}, "dataset columns"),
        ({**CS231N, "graph": {"inputs": ["x0"], "weights": ["w0"], "nodes": {}}}, "y_pred"),
        ({**CS231N, "w": [800.0, 0.0, 0.0], "x": [-1.0, 0.0]}, "overflowed"),
    ],
)
def test_a_bad_point_of_another_graph_is_a_problem(
    client: Any, point: dict[str, Any], fragment: str
) -> None:
    response = client.post("/graph", json=point)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text


def test_a_graph_with_more_values_than_a_picture_draws_is_refused_naming_the_limit(
    client: Any, in_process: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not in_process:
        pytest.skip("sets the in-process app's drawing cap")
    from service.api.routes import graph as routes

    monkeypatch.setattr(routes, "MAX_BOXES", 6)  # CS231n's picture has 7 boxes (y is unused)
    response = client.post("/graph", json=CS231N)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/limit-exceeded"
    assert "at most 6 values" in response.json()["detail"]
    assert "has 7" in response.json()["detail"]
    monkeypatch.setattr(routes, "MAX_BOXES", 7)
    assert client.post("/graph", json=CS231N).status_code == 200
