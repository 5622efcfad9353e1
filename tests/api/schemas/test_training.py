"""The training schemas agree with the optimizer specs they are derived from."""

from __future__ import annotations

from typing import get_args

from service.api.schemas.training import DOMAIN_TYPES, OptimizerSettings
from service.core.training import registry


def test_the_optimizer_names_are_the_specs() -> None:
    annotation = OptimizerSettings.model_fields["optimizer"].annotation
    assert get_args(annotation) == registry.NAMES


def test_each_hyperparameter_field_has_its_spec_domain_and_defaults_to_none() -> None:
    fields = {n: f for n, f in OptimizerSettings.model_fields.items() if n != "optimizer"}
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
