"""The optimizers the API offers, each declared once as a `Spec`.

A spec holds everything about one optimizer: its hyperparameters with their defaults (in the order
the compiled update reads them), the readable (init, update) factory, the compiled update family
and its fast path, the rule in words, the torch form and the step cost. Everything else is derived
from `SPECS`: the API's optimizer names and hyperparameter fields, the kernel's parameter layout
and dispatch, the batch scheduler's costs. A request is resolved once, at the boundary, into a
`Resolved` optimizer that travels to the kernel.

Adding an optimizer: its readable factory in optimizers.py, its compiled update in kernel.py, and
one `Spec` here. (Over 250 lines for a reason: each spec keeps its rule and torch text beside it.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.core.errors import InvalidInput
from service.core.training import optimizers
from service.core.training.clipping import Clipping, clipped

Hyper = dict[str, float | bool]


@dataclass(frozen=True)
class Domain:
    """The values one hyperparameter takes, and what it means."""

    kind: str  # "rate": (0, 1e6]; "fraction": [0, 1); "nonnegative": [0, 1e6]; "flag": bool
    meaning: str


# Every hyperparameter any optimizer takes: its domain and what it is.
DOMAINS: dict[str, Domain] = {
    "learning_rate": Domain("rate", "step size"),
    "momentum": Domain("nonnegative", "torch's momentum factor"),
    "dampening": Domain("nonnegative", "torch's dampening"),
    "nesterov": Domain("flag", "Nesterov momentum"),
    "weight_decay": Domain("nonnegative", "L2 penalty added to g (adamw: decoupled)"),
    "beta": Domain("fraction", "EMA factor b of the course's momentum"),
    "beta1": Domain("fraction", "first-moment factor"),
    "beta2": Domain("fraction", "second-moment factor"),
    "eps": Domain("rate", "denominator term"),
    "bias_correction": Domain("flag", "divide by 1-b^t as torch does; the course does not"),
    "amsgrad": Domain("flag", "use the running max of v"),
    "alpha": Domain("fraction", "smoothing constant"),
    "centered": Domain("flag", "centered variant"),
    "lr_decay": Domain("nonnegative", "learning-rate decay"),
    "initial_accumulator_value": Domain("nonnegative", "starting value of the sum of squares"),
}


@dataclass(frozen=True)
class FastPath:
    """A compiled loop of its own for the common case: used when every listed value holds."""

    loop: str
    when: Mapping[str, float | bool]


@dataclass(frozen=True)
class Spec:
    """One optimizer as the API names it, and everything that is derived from it."""

    name: str
    summary: str
    defaults: Hyper  # in the order the compiled update reads them
    factory: Callable[..., optimizers.Optimizer]
    rule: Callable[[Hyper], str]
    torch: Callable[[Hyper], str | None]
    kernel: str  # the compiled update family (kernel.PARAMETERS names its layout)
    step_cost: float  # kernel time per step relative to plain sgd (bench/kernel.py)
    fixed: Hyper = field(default_factory=dict)  # what the family reads that this one pins
    fast_path: FastPath | None = None
    check: Callable[[Hyper], None] | None = None  # cross-hyperparameter rules


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


def _torch(cls: str, *names: str) -> Callable[[Hyper], str]:
    """The torch.optim call computing the same, its arguments in torch's order (`lr`, `betas`)."""

    def call(h: Hyper) -> str:
        shown = {name: _r(value) for name, value in h.items()}
        shown["lr"] = shown["learning_rate"]
        if "beta1" in h:
            shown["betas"] = f"({shown['beta1']}, {shown['beta2']})"
        return f"torch.optim.{cls}(" + ", ".join(f"{n}={shown[n]}" for n in names) + ")"

    return call


_ADAM_ARGS = ("lr", "betas", "eps", "weight_decay", "amsgrad")


def _adam_torch(h: Hyper) -> str | None:
    return _torch("Adam", *_ADAM_ARGS)(h) if h["bias_correction"] else None


def _adamw_rule(h: Hyper) -> str:
    return "w *= 1 - learning_rate*weight_decay; then bias-corrected Adam: " + _adam_rule(
        {**h, "weight_decay": 0.0, "bias_correction": True}
    )


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


def _adagrad_rule(h: Hyper) -> str:
    pre = "g += weight_decay * w; " if h["weight_decay"] else ""
    return (
        pre + "s += g^2 (s starts at initial_accumulator_value); "
        "w -= learning_rate / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)"
    )


def _nesterov_needs_momentum(h: Hyper) -> None:
    if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
        raise InvalidInput("nesterov momentum requires momentum > 0 and dampening = 0 (as torch)")


SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec(
            "sgd",
            "course vanilla / torch SGD",
            {
                "learning_rate": 0.001,
                "momentum": 0.0,
                "dampening": 0.0,
                "nesterov": False,
                "weight_decay": 0.0,
            },
            optimizers.sgd,
            _sgd_rule,
            _torch("SGD", "lr", "momentum", "dampening", "weight_decay", "nesterov"),
            kernel="sgd",
            step_cost=1.0,
            fast_path=FastPath("vanilla", {"momentum": 0.0, "weight_decay": 0.0}),
            check=_nesterov_needs_momentum,
        ),
        Spec(
            "momentum",
            "course EMA form",
            {"learning_rate": 0.01, "beta": 0.9},
            optimizers.momentum,
            lambda h: (
                "m = beta*m + (1-beta)*g; w -= learning_rate * m  (course form: an EMA of g; "
                "not torch.optim.SGD's b = momentum*b + g, nor cs231n's v = mu*v - lr*g)"
            ),
            lambda h: None,
            kernel="momentum",
            step_cost=1.0,
        ),
        Spec(
            "adam",
            "course form; torch Adam with bias_correction",
            {
                "learning_rate": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "bias_correction": False,
                "amsgrad": False,
                "weight_decay": 0.0,
            },
            optimizers.adam,
            _adam_rule,
            _adam_torch,
            kernel="adam",
            step_cost=1.5,
            fixed={"decoupled": False},
            fast_path=FastPath(
                "course_adam", {"bias_correction": False, "amsgrad": False, "weight_decay": 0.0}
            ),
        ),
        Spec(
            "adamw",
            "torch AdamW",
            {
                "learning_rate": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.01,
                "amsgrad": False,
            },
            optimizers.adamw,
            _adamw_rule,
            _torch("AdamW", *_ADAM_ARGS),
            kernel="adam",
            step_cost=1.5,
            fixed={"bias_correction": True, "decoupled": True},
        ),
        Spec(
            "rmsprop",
            "torch RMSprop",
            {
                "learning_rate": 0.01,
                "alpha": 0.99,
                "eps": 1e-8,
                "momentum": 0.0,
                "centered": False,
                "weight_decay": 0.0,
            },
            optimizers.rmsprop,
            _rmsprop_rule,
            _torch("RMSprop", "lr", "alpha", "eps", "weight_decay", "momentum", "centered"),
            kernel="rmsprop",
            step_cost=1.5,
        ),
        Spec(
            "adagrad",
            "torch Adagrad",
            {
                "learning_rate": 0.01,
                "lr_decay": 0.0,
                "eps": 1e-10,
                "initial_accumulator_value": 0.0,
                "weight_decay": 0.0,
            },
            optimizers.adagrad,
            _adagrad_rule,
            _torch("Adagrad", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
            kernel="adagrad",
            step_cost=1.5,
        ),
    )
}
NAMES = tuple(SPECS)
# Kernel time of a clipped step relative to the same step unclipped (bench/clipping.py: 1.02-1.08).
CLIPPING_COST = 1.1

# Every hyperparameter any optimizer takes, in first-seen order.
HYPERPARAMETERS = tuple(dict.fromkeys(k for spec in SPECS.values() for k in spec.defaults))


def users(name: str) -> tuple[str, ...]:
    """The optimizers taking hyperparameter `name`."""
    return tuple(spec.name for spec in SPECS.values() if name in spec.defaults)


@dataclass(frozen=True)
class Resolved:
    """An optimizer with every hyperparameter filled in: what travels from the API to the kernel."""

    spec: Spec
    hyper: Hyper
    clipping: Clipping | None = None  # applied to g before each update

    @property
    def name(self) -> str:
        """The API's name of the optimizer."""
        return self.spec.name

    @property
    def step_cost(self) -> float:
        """Kernel time per step relative to plain sgd, clipping included (bench/clipping.py)."""
        return self.spec.step_cost * (1.0 if self.clipping is None else CLIPPING_COST)

    def build(self) -> optimizers.Optimizer:
        """The readable (init, update) optimizer, clipping g first when it clips."""
        return clipped(self.clipping, self.spec.factory(**self.hyper))

    def loop(self) -> str:
        """The compiled loop that runs it: its fast path when that applies, else its family's."""
        fast = self.spec.fast_path
        if fast is not None and all(self.hyper[k] == v for k, v in fast.when.items()):
            return fast.loop
        return self.spec.kernel

    def kernel_values(self) -> Hyper:
        """What the compiled update family reads: the hyperparameters and the spec's pinned ones."""
        return {**self.hyper, **self.spec.fixed}

    def describe(self) -> dict[str, Any]:
        """The resolved optimizer block the API returns."""
        rule, torch = self.spec.rule(self.hyper), self.spec.torch(self.hyper)
        clipping = self.clipping
        if clipping is not None:
            rule = f"{clipping.rule()}; then {rule}"
            if torch is not None:
                torch = f"{torch}; {clipping.torch()} before optimizer.step()"
        return {
            "name": self.name,
            "hyperparameters": dict(self.hyper),
            "clipping": None if clipping is None else clipping.describe(),
            "rule": rule,
            "equivalent_to": torch,
        }


def resolve(
    name: str, given: Mapping[str, Any] | None = None, clipping: Clipping | None = None
) -> Resolved:
    """Fill the optimizer's defaults; reject hyperparameters that do not belong to it."""
    spec = SPECS[name]
    given = given or {}
    foreign = sorted(k for k, v in given.items() if v is not None and k not in spec.defaults)
    if foreign:
        allowed = ", ".join(spec.defaults)
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
        k: (given[k] if given.get(k) is not None else d) for k, d in spec.defaults.items()
    }
    if spec.check is not None:
        spec.check(hyper)
    return Resolved(spec, hyper, clipping)
