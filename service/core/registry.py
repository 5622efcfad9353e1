"""The optimizers the API offers: defaults, the update rule in words, and torch equivalents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.core import optimizers
from service.core.errors import InvalidInput

Hyper = dict[str, float | bool]


@dataclass(frozen=True)
class Entry:
    """One optimizer as the API names it."""

    factory: Callable[..., optimizers.Optimizer]
    defaults: Hyper
    rule: Callable[[Hyper], str]
    torch: Callable[[Hyper], str | None]


def _r(value: float | bool) -> str:
    return repr(value)


def _sgd_rule(h: Hyper) -> str:
    rule = "w -= learning_rate * g"
    if h["weight_decay"]:
        rule = "g += weight_decay * w; " + rule
    if h["momentum"]:
        step = "g + momentum * b" if h["nesterov"] else "b"
        rule = f"b = g at t=1, else b = momentum*b + (1-dampening)*g; w -= learning_rate * ({step})"
        if h["weight_decay"]:
            rule = "g += weight_decay * w; " + rule
    return rule


def _sgd_torch(h: Hyper) -> str:
    return (
        f"torch.optim.SGD(lr={_r(h['learning_rate'])}, momentum={_r(h['momentum'])}, "
        f"dampening={_r(h['dampening'])}, weight_decay={_r(h['weight_decay'])}, "
        f"nesterov={_r(h['nesterov'])})"
    )


def _adam_rule(h: Hyper) -> str:
    v = "max(v_max, v)" if h["amsgrad"] else "v"
    pre = "g += weight_decay * w; " if h["weight_decay"] else ""
    core = "m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g^2; "
    if h["bias_correction"]:
        return (
            pre + core + f"w -= (learning_rate / (1-beta1^t)) * m / "
            f"(sqrt({v}) / sqrt(1-beta2^t) + eps)"
        )
    return (
        pre
        + core
        + f"w -= learning_rate * m / (sqrt({v}) + eps)  (course form, no bias correction)"
    )


def _adam_family_torch(cls: str, h: Hyper) -> str:
    betas = f"({_r(h['beta1'])}, {_r(h['beta2'])})"
    return (
        f"torch.optim.{cls}(lr={_r(h['learning_rate'])}, betas={betas}, eps={_r(h['eps'])}, "
        f"weight_decay={_r(h['weight_decay'])}, amsgrad={_r(h['amsgrad'])})"
    )


def _adam_torch(h: Hyper) -> str | None:
    return _adam_family_torch("Adam", h) if h["bias_correction"] else None


def _adamw_rule(h: Hyper) -> str:
    return "w *= 1 - learning_rate*weight_decay; then bias-corrected Adam: " + _adam_rule(
        {**h, "weight_decay": 0.0, "bias_correction": True}
    )


def _adamw_torch(h: Hyper) -> str:
    return _adam_family_torch("AdamW", h)


def _rmsprop_rule(h: Hyper) -> str:
    pre = "g += weight_decay * w; " if h["weight_decay"] else ""
    sq = "s = alpha*s + (1-alpha)*g^2; "
    if h["centered"]:
        sq += "gbar = alpha*gbar + (1-alpha)*g; avg = sqrt(s - gbar^2) + eps; "
    else:
        sq += "avg = sqrt(s) + eps; "
    if h["momentum"]:
        return pre + sq + "b = momentum*b + g/avg; w -= learning_rate * b"
    return pre + sq + "w -= learning_rate * g / avg"


def _rmsprop_torch(h: Hyper) -> str:
    return (
        f"torch.optim.RMSprop(lr={_r(h['learning_rate'])}, alpha={_r(h['alpha'])}, "
        f"eps={_r(h['eps'])}, weight_decay={_r(h['weight_decay'])}, "
        f"momentum={_r(h['momentum'])}, centered={_r(h['centered'])})"
    )


def _adagrad_rule(h: Hyper) -> str:
    pre = "g += weight_decay * w; " if h["weight_decay"] else ""
    return (
        pre + "s += g^2 (s starts at initial_accumulator_value); "
        "w -= learning_rate / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)"
    )


def _adagrad_torch(h: Hyper) -> str:
    return (
        f"torch.optim.Adagrad(lr={_r(h['learning_rate'])}, lr_decay={_r(h['lr_decay'])}, "
        f"weight_decay={_r(h['weight_decay'])}, "
        f"initial_accumulator_value={_r(h['initial_accumulator_value'])}, eps={_r(h['eps'])})"
    )


REGISTRY: dict[str, Entry] = {
    "sgd": Entry(
        optimizers.sgd,
        {
            "learning_rate": 0.001,
            "momentum": 0.0,
            "dampening": 0.0,
            "nesterov": False,
            "weight_decay": 0.0,
        },
        _sgd_rule,
        _sgd_torch,
    ),
    "momentum": Entry(
        optimizers.momentum,
        {"learning_rate": 0.01, "beta": 0.9},
        lambda h: (
            "m = beta*m + (1-beta)*g; w -= learning_rate * m  (course form: an EMA of g; "
            "not torch.optim.SGD's b = momentum*b + g, nor cs231n's v = mu*v - lr*g)"
        ),
        lambda h: None,
    ),
    "adam": Entry(
        optimizers.adam,
        {
            "learning_rate": 0.001,
            "beta1": 0.9,
            "beta2": 0.999,
            "eps": 1e-8,
            "bias_correction": False,
            "amsgrad": False,
            "weight_decay": 0.0,
        },
        _adam_rule,
        _adam_torch,
    ),
    "adamw": Entry(
        optimizers.adamw,
        {
            "learning_rate": 0.001,
            "beta1": 0.9,
            "beta2": 0.999,
            "eps": 1e-8,
            "weight_decay": 0.01,
            "amsgrad": False,
        },
        _adamw_rule,
        _adamw_torch,
    ),
    "rmsprop": Entry(
        optimizers.rmsprop,
        {
            "learning_rate": 0.01,
            "alpha": 0.99,
            "eps": 1e-8,
            "momentum": 0.0,
            "centered": False,
            "weight_decay": 0.0,
        },
        _rmsprop_rule,
        _rmsprop_torch,
    ),
    "adagrad": Entry(
        optimizers.adagrad,
        {
            "learning_rate": 0.01,
            "lr_decay": 0.0,
            "eps": 1e-10,
            "initial_accumulator_value": 0.0,
            "weight_decay": 0.0,
        },
        _adagrad_rule,
        _adagrad_torch,
    ),
}


# Every hyperparameter name any optimizer takes, in first-seen order.
HYPERPARAMETERS = tuple(dict.fromkeys(k for entry in REGISTRY.values() for k in entry.defaults))


def resolve(name: str, given: dict[str, Any]) -> Hyper:
    """Fill the optimizer's defaults; reject hyperparameters that do not belong to it."""
    entry = REGISTRY[name]
    foreign = sorted(k for k, v in given.items() if v is not None and k not in entry.defaults)
    if foreign:
        allowed = ", ".join(entry.defaults)
        raise InvalidInput(
            f"optimizer '{name}' does not take {', '.join(foreign)}; its hyperparameters are: "
            f"{allowed}",
            errors=[
                {
                    "loc": ["body", k],
                    "msg": f"not a hyperparameter of '{name}'",
                    "type": "extra_forbidden",
                }
                for k in foreign
            ],
        )
    hyper: Hyper = {
        k: (given[k] if given.get(k) is not None else d) for k, d in entry.defaults.items()
    }
    if name == "sgd" and hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        raise InvalidInput("nesterov momentum requires momentum > 0 and dampening = 0 (as torch)")
    return hyper


def build(name: str, hyper: Hyper) -> optimizers.Optimizer:
    """The readable (init, update) optimizer for resolved hyperparameters."""
    return REGISTRY[name].factory(**hyper)


def describe(name: str, hyper: Hyper) -> dict[str, Any]:
    """The resolved optimizer block the API returns."""
    entry = REGISTRY[name]
    return {
        "name": name,
        "hyperparameters": dict(hyper),
        "rule": entry.rule(hyper),
        "equivalent_to": entry.torch(hyper),
    }
