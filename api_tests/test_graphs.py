"""Graphs as data through HTTP: `graph` on forward/backward/gradcheck, GET /graphs, /graphs/check.

The course graph answers exactly as before (SPEC §3 `==`, the same keys); CS231n lecture 4's
neuron gives the lecture's published numbers; bad definitions and lengths are 422s that say
what is wrong; a relu at its kink gets the `kink` verdict, not `fail`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from api_tests.support.hostile import assert_healthy
from service.core.dataset import load_dataset

COURSE_W = [0.1] * 9
SPEC_FORWARD = {
    "exp": 1.1272967040973583,
    "tanh": 0.8417934192562146,
    "sigmoid": 0.5279179387419721,
    "y_pred": 0.8945852131304118,
    "loss": 0.9298048963072919,
    "dy_pred": -1.9285278284819143,
}
PRESET = Path(__file__).resolve().parents[1] / "service/core/graphs/presets/course.json"
NEURON = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}


def problem(response: Any, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body


@pytest.mark.parametrize(
    "graph", [None, "course", json.loads(PRESET.read_text(encoding="utf-8"))], ids=str
)
def test_the_course_graph_answers_exactly_as_before(client: Any, graph: Any) -> None:
    body = {"w": COURSE_W, "row": 0} | ({} if graph is None else {"graph": graph})
    forward = client.post("/forward", json=body).json()
    assert forward == SPEC_FORWARD
    assert list(forward) == list(SPEC_FORWARD)
    backward = client.post("/backward", json=body).json()
    assert set(backward) == {"forward", "gradients"}
    assert list(backward["gradients"]) == [f"dw{i}" for i in range(1, 10)]
    rounded = [round(v, 6) for v in backward["gradients"].values()]
    assert rounded == [-0.229733, -0.021408, -0.005625, -0.004658, -0.001008, -0.633475,
                       -0.561942, -0.048063, -1.018104]  # fmt: skip
    check = client.post("/gradcheck", json=body).json()
    assert [row["name"] for row in check["weights"]] == [f"w{i}" for i in range(1, 10)]
    assert set(check["weights"][0]) == {"name", "analytic", "numerical", "relative_error"}
    assert check["verdict"] == "pass"


def test_the_lecture_neuron_gives_the_published_numbers(client: Any) -> None:
    forward = client.post("/forward", json=NEURON).json()
    assert list(forward) == ["y_pred", "loss", "dy_pred"]
    assert round(forward["y_pred"], 2) == 0.73
    assert forward["loss"] == forward["y_pred"]
    assert forward["dy_pred"] == 1.0
    backward = client.post("/backward", json=NEURON).json()
    assert [round(v, 2) for v in backward["gradients"].values()] == [-0.20, -0.39, 0.20]
    assert list(backward["gradients"]) == ["dw0", "dw1", "dw2"]
    assert {k: round(v, 2) for k, v in backward["input_gradients"].items()} == {
        "dx0": 0.39,
        "dx1": -0.59,
    }
    f = 1.0 / (1.0 + math.exp(-(2.0 * -1.0 + -3.0 * -2.0 - 3.0)))  # independent of the engine
    assert math.isclose(backward["gradients"]["dw2"], f * (1 - f), rel_tol=1e-15)
    assert client.post("/gradcheck", json=NEURON).json()["verdict"] == "pass"


def test_a_row_picks_the_graphs_inputs_by_column_name(client: Any) -> None:
    graph = {"inputs": ["f3", "f1"], "weights": ["a", "b"], "nodes": {"y_pred": "a*f3 + b*f1"}}
    by_row = client.post("/forward", json={"graph": graph, "w": [0.5, -2.0], "row": 7}).json()
    data = load_dataset()
    x = [float(data.X[7, 2]), float(data.X[7, 0])]
    body = {"graph": graph, "w": [0.5, -2.0], "x": x, "y": float(data.y[7])}
    assert by_row == client.post("/forward", json=body).json()
    assert by_row["y_pred"] == 0.5 * x[0] + -2.0 * x[1]


def test_lengths_and_rows_are_checked_against_the_graph(client: Any) -> None:
    wrong_w = problem(client.post("/forward", json=NEURON | {"w": [1.0] * 9}))
    assert "'w' has 9 values" in wrong_w["detail"]
    assert "w0, w1, w2" in wrong_w["detail"]
    wrong_x = problem(client.post("/backward", json=NEURON | {"x": [1.0] * 5}))
    assert "'x' has 5 values" in wrong_x["detail"]
    assert "x0, x1" in wrong_x["detail"]
    row = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "row": 0}
    missing = problem(client.post("/forward", json=row))
    assert "'x0', 'x1' are not" in missing["detail"]
    course = problem(client.post("/forward", json={"w": [0.1] * 3, "row": 0}))
    assert any(error["loc"] == "body.w" for error in course["errors"])
    unknown = problem(client.post("/forward", json=NEURON | {"graph": "nope"}), "unknown-graph")
    assert "cs231n_neuron" in unknown["detail"]
    assert "course" in unknown["detail"]
    grads = problem(
        client.post("/gradcheck", json=NEURON | {"gradients": {"dw0": 1.0, "dw9": 2.0}})
    )
    assert "missing dw1, dw2" in grads["detail"]
    assert "unknown dw9" in grads["detail"]
    assert_healthy(client)


def test_the_presets_are_listed_and_described(client: Any) -> None:
    listing = client.get("/graphs").json()
    assert listing["default"] == "course"
    names = {g["name"]: g for g in listing["graphs"]}
    assert {"course", "cs231n_neuron"} <= set(names)
    assert names["course"]["weights"] == [f"w{i}" for i in range(1, 10)]
    course = client.get("/graphs/course").json()
    assert course["id"] == names["course"]["id"]
    assert course["name"] == "course"
    assert course["definition"]["nodes"]["y_pred"] == "tanh + w9*sigmoid"
    assert course["gradients"]["dw9"] == "dw9 = dy_pred * sigmoid"
    assert ("w9", "y_pred") in {(e["source"], e["target"]) for e in course["edges"]}
    problem(client.get("/graphs/nope"), "unknown-graph")


def test_check_answers_the_canonical_form_and_equal_ids_for_equal_graphs(client: Any) -> None:
    one = {"inputs": ["x"], "weights": ["w"], "nodes": {"_h": "w*x", "y_pred": "tanh( _h )"}}
    two = {"weights": ["w"], "inputs": ["x"], "nodes": {"y_pred": "tanh(_h)", "_h": "(w*x)"}}
    a = client.post("/graphs/check", json={"graph": one}).json()
    b = client.post("/graphs/check", json={"graph": two}).json()
    assert a["id"] == b["id"]
    assert a["name"] is None
    assert a["definition"]["nodes"] == {"_h": "w*x", "y_pred": "tanh(_h)"}
    assert a["gradients"]["dw"] == "dw = dy_pred * (1 - y_pred**2) * x"
    with_course = client.post("/graphs/check", json={"graph": json.loads(PRESET.read_text())})
    assert with_course.json()["id"] == client.get("/graphs/course").json()["id"]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("__import__('os').system('true')", "node 'y_pred', position"),
        ("w.__class__", "node 'y_pred', position 1"),
        ("w[0]", "node 'y_pred', position 1"),
        ("(lambda: 1)()", "node 'y_pred', position"),
        ("w**1000000", "exponent"),
        ("(" * 100_000 + "w" + ")" * 100_000, "limit"),
        ("w +", "node 'y_pred', position 3"),
    ],
)
def test_hostile_definitions_are_422s_naming_where(
    client: Any, expression: str, fragment: str
) -> None:
    graph = {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": expression}}
    for path, body in (
        ("/graphs/check", {"graph": graph}),
        ("/forward", {"graph": graph, "w": [1.0], "x": [1.0], "y": 0.0}),
    ):
        found = problem(client.post(path, json=body))
        assert found["type"].endswith(("/invalid-graph", "/limit-exceeded")), found
        assert fragment in found["detail"], found["detail"]
        assert any(error["loc"].startswith("body.graph") for error in found["errors"])
    assert_healthy(client)


def test_graph_limits_are_refused_naming_the_limit(client: Any) -> None:
    nodes = {f"n{i}": "w*x" for i in range(70)} | {"y_pred": "w*x"}
    graph = {"inputs": ["x"], "weights": ["w"], "nodes": nodes}
    found = problem(client.post("/graphs/check", json={"graph": graph}), "limit-exceeded")
    assert found["errors"][0]["limit"] == "nodes"
    assert "71 nodes exceed the limit of 64" in found["detail"]
    busy = {f"n{i}": "w*x*w*x + w" for i in range(60)} | {"y_pred": "w*x"}  # 4 ops each
    graph = {"inputs": ["x"], "weights": ["w"], "nodes": busy}
    ops = problem(client.post("/graphs/check", json={"graph": graph}), "limit-exceeded")
    assert ops["errors"][0]["limit"] == "operations"
    deep = {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w" + "*x" * 40}}
    depth = problem(client.post("/graphs/check", json={"graph": deep}), "limit-exceeded")
    assert depth["errors"][0]["limit"] == "depth"


def test_a_relu_at_its_kink_is_a_kink_not_a_failure(client: Any) -> None:
    graph = {
        "inputs": ["x"],
        "weights": ["a", "b"],
        "nodes": {"y_pred": "relu(a*x) + b*b*x"},
        "loss": "y_pred",
    }
    body = {"graph": graph, "w": [0.0, 0.5], "x": [1.0], "y": 0.0}
    check = client.post("/gradcheck", json=body).json()
    assert check["verdict"] == "kink"
    a, b = check["weights"]
    assert a["kink"] is True
    assert b["kink"] is False
    assert a["analytic"] == 0.0  # torch's subgradient at 0
    assert math.isclose(a["forward_difference"], 1.0, rel_tol=1e-6)
    assert a["backward_difference"] == 0.0
    assert math.isclose(b["numerical"], 1.0, rel_tol=1e-6)
    assert check["difference"] < 1e-7  # over b alone
    away = client.post("/gradcheck", json=body | {"w": [0.25, 0.5]}).json()
    assert away["verdict"] == "pass"
    assert not any(row["kink"] for row in away["weights"])
    wrong = body | {"w": [0.25, 0.5], "gradients": {"da": 1.0, "db": -1.0}}
    assert client.post("/gradcheck", json=wrong).json()["verdict"] == "fail"


def test_a_bad_preset_file_keeps_ready_at_503_and_the_log_names_it(
    in_process: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    if not in_process:
        pytest.skip("starts an app of its own")
    from fastapi.testclient import TestClient

    from service.main import create_app
    from service.settings import get_settings

    (tmp_path / "good.json").write_text(
        '{"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w*x"}}'
    )
    (tmp_path / "bad.json").write_text('{"inputs": ["x"], "weights": ["w"], "nodes": {"y": 1}}')
    monkeypatch.setenv("BACKPROP_GRAPHS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as fresh:
            assert fresh.get("/ready").status_code == 503
            assert "good" in {g["name"] for g in fresh.get("/graphs").json()["graphs"]}
        assert any(str(tmp_path / "bad.json") in r.getMessage() for r in caplog.records)
    finally:
        monkeypatch.undo()  # the environment first, so that no later call caches this folder
        get_settings.cache_clear()
