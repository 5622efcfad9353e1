"""The training schemas agree with the optimizer specs they are derived from."""

from __future__ import annotations

import math
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from service.api.schemas.training import (
    DOMAIN_TYPES,
    CompareRequest,
    OptimizerSettings,
    TrainRequest,
)
from service.core.training import registry
from service.core.training.clipping import Clipping


def test_the_optimizer_names_are_the_specs() -> None:
    annotation = OptimizerSettings.model_fields["optimizer"].annotation
    assert get_args(annotation) == registry.NAMES


def test_each_hyperparameter_field_has_its_spec_domain_and_defaults_to_none() -> None:
    clip = ("clip_grad_value", "clip_grad_norm")
    fields = {
        n: f for n, f in OptimizerSettings.model_fields.items() if n not in (*clip, "optimizer")
    }
    assert tuple(fields) == tuple(registry.DOMAINS)
    assert set(registry.HYPERPARAMETERS) == set(registry.DOMAINS)
    for name, field in fields.items():
        kind = registry.DOMAINS[name].kind
        expected = bool if kind == "flag" else DOMAIN_TYPES[kind]
        assert field.default is None, name
        assert get_args(field.annotation)[0] == expected, name
        assert field.description is not None
        assert "/".join(registry.users(name)) in field.description


def test_a_request_resolves_once_into_the_spec_defaults() -> None:
    optimizer = OptimizerSettings(optimizer="adam", beta1=0.5).resolved()
    assert optimizer.hyper == {**registry.SPECS["adam"].defaults, "beta1": 0.5}


def test_clipping_fields_resolve_into_the_core_clipping() -> None:
    body = {"optimizer": "adam", "clip_grad_value": 0.5, "clip_grad_norm": {"max_norm": 1}}
    assert TrainRequest.model_validate(body).resolved().clipping == Clipping(0.5, 1.0, 2.0)
    inf = {"clip_grad_norm": {"max_norm": 2.0, "norm_type": "inf"}}
    assert TrainRequest.model_validate(inf).resolved().clipping == Clipping(None, 2.0, math.inf)
    assert TrainRequest.model_validate({}).resolved().clipping is None
    compare = CompareRequest.model_validate(
        {"configs": [{"optimizer": "adam"}, {"optimizer": "adam", "clip_grad_value": 0.1}]}
    )
    assert [c.optimizer.clipping for c in compare.to_configs()] == [None, Clipping(0.1)]


@pytest.mark.parametrize(
    "body",
    [
        {"clip_grad_value": 0},
        {"clip_grad_value": -1.0},
        {"clip_grad_value": "0.5"},
        {"clip_grad_value": True},
        {"clip_grad_norm": {"max_norm": 0}},
        {"clip_grad_norm": {"max_norm": 1.0, "norm_type": 0.5}},
        {"clip_grad_norm": {"max_norm": 1.0, "norm_type": "2"}},
        {"clip_grad_norm": {"max_norm": 1.0, "norm_type": "Infinity"}},
        {"clip_grad_norm": {"max_norm": 1.0, "max": 2}},
        {"clip_grad_norm": {"norm_type": 2}},
        {"clip_grad_norm": 1.0},
    ],
)
def test_bad_clipping_is_refused_by_the_schema(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TrainRequest.model_validate(body)


def test_nan_and_infinity_are_refused_for_clipping() -> None:
    for text in ('{"clip_grad_value": NaN}', '{"clip_grad_norm": {"max_norm": Infinity}}'):
        with pytest.raises(ValidationError):
            TrainRequest.model_validate_json(text)


def test_the_clipping_descriptions_say_value_first_then_norm() -> None:
    for name in ("clip_grad_value", "clip_grad_norm"):
        description = OptimizerSettings.model_fields[name].description or ""
        assert "clamped first, then the norm is clipped" in description
        assert "torch.nn.utils.clip_grad_" in description
