"""The registry: presets and an instructor's folder, inline definitions, rows by column name;
the BACKPROP_MAX_GRAPH_* settings are definition.Limits (one home for the defaults)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from service.core.errors import GraphLimitExceeded, InvalidGraph, InvalidInput
from service.core.graphs.definition import Limits, define, limit_fields
from service.core.graphs.registry import Registry, UnknownGraph, dataset_columns, is_course
from service.settings import Settings

NEURON = '{"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "sigmoid(w*x)"}}'


def test_settings_default_to_the_definition_limits_and_build_them() -> None:
    settings = Settings()
    assert settings.graph_limits() == Limits()
    for name in limit_fields():
        assert getattr(settings, f"max_graph_{name}") == getattr(Limits(), name)
    smaller = Settings(max_graph_nodes=3, max_graph_exponent=4.0)
    assert smaller.graph_limits() == dataclasses.replace(Limits(), nodes=3, exponent=4.0)


def test_a_folder_adds_presets_and_names_its_bad_files(tmp_path: Path) -> None:
    (tmp_path / "neuron.json").write_text(NEURON)
    (tmp_path / "broken.json").write_text('{"inputs": ["x"], "weights": ["w"], "nodes": {}}')
    (tmp_path / "course.json").write_text(NEURON)
    graphs = Registry(Limits(), str(tmp_path), str(tmp_path / "cache"))
    assert {"course", "cs231n_neuron", "neuron"} <= set(graphs.presets)
    assert set(graphs.errors) == {str(tmp_path / "broken.json"), str(tmp_path / "course.json")}
    assert "y_pred" in graphs.errors[str(tmp_path / "broken.json")]
    assert is_course(graphs.resolve(None))
    assert is_course(graphs.resolve("course"))
    assert graphs.resolve("neuron").weights == ("w",)
    with pytest.raises(UnknownGraph, match="neuron"):
        graphs.resolve("missing")
    missing = Registry(Limits(), str(tmp_path / "nowhere"), str(tmp_path / "cache"))
    assert list(missing.errors.values()) == ["the presets folder does not exist"]


def test_inline_definitions_take_the_configured_limits(tmp_path: Path) -> None:
    graphs = Registry(Limits(nodes=1), None, str(tmp_path))
    one = {"inputs": ["x"], "weights": ["w"], "nodes": {"y_pred": "w*x"}}
    assert graphs.resolve(one) is graphs.resolve(dict(one))  # remembered
    with pytest.raises(GraphLimitExceeded) as refused:
        graphs.resolve(one | {"nodes": {"h": "w", "y_pred": "h*x"}})
    assert refused.value.limit == "nodes"
    with pytest.raises(InvalidGraph) as bad:
        graphs.resolve({"inputs": [1], "weights": ["w"], "nodes": {"y_pred": "w"}})
    assert bad.value.loc == ("inputs", 0)
    assert graphs.errors == {}


def test_rows_need_dataset_columns_by_name() -> None:
    graph = define({"inputs": ["f5", "f2"], "weights": ["w"], "nodes": {"y_pred": "w*f5*f2"}})
    assert dataset_columns(graph) == (4, 1)
    other = define({"inputs": ["f1", "z", "q"], "weights": ["w"], "nodes": {"y_pred": "w*z"}})
    with pytest.raises(InvalidInput, match="'z', 'q' are not"):
        dataset_columns(other)
