"""The one table of operations: each op's forward beside its local derivatives.

A row's `forward` is an expression over its operands `{a}` (and `{b}`) and its constant `{k}`;
`local[i]` is the contribution to operand i's adjoint, an expression over the operands, the
output `{out}` and the upstream adjoint `{g}` — written upstream first, factors left to right
(`g * out * (1.0 - out)`), the order graph.py multiplies in, so results match it bit for bit.
`text` is the same derivative as a student writes it (`{ra}`: the operand unparenthesized).
The readable evaluator runs these templates as Python (`READABLE`); the compiled code pastes
them into generated source (`PRELUDE` holds the helpers numba sees under the same names). The
templates are this module's constants, never user text. relu and abs take torch's subgradient
0 at 0.

Tested by tests/core/graphs/test_evaluate.py (every op against sympy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    """One op: its forward, each operand's adjoint contribution, and those as a student writes."""

    forward: str
    local: tuple[str, ...]
    text: tuple[str, ...]

    @property
    def arity(self) -> int:
        return len(self.local)


OPS: dict[str, Op] = {
    "copy": Op("{a}", ("{g}",), ("1",)),  # a node that names another value
    "add": Op("{a} + {b}", ("{g}", "{g}"), ("1", "1")),
    "sub": Op("{a} - {b}", ("{g}", "-{g}"), ("1", "-1")),
    "mul": Op("{a} * {b}", ("{g} * {b}", "{g} * {a}"), ("{b}", "{a}")),
    "div": Op(
        "div({a}, {b})", ("div({g}, {b})", "div(-{g} * {out}, {b})"), ("1/{b}", "-{a}/{b}**2")
    ),
    "neg": Op("-{a}", ("-{g}",), ("-1",)),
    "square": Op("{a} * {a}", ("{g} * 2.0 * {a}",), ("2*{a}",)),  # x**2 and x*x
    "powi": Op("powi({a}, {k})", ("{g} * {k} * powi({a}, {k} - 1.0)",), ("{k}*{a}**{k1}",)),
    "powneg": Op(
        "div(1.0, powi({a}, -{k}))",
        ("{g} * {k} * div(1.0, powi({a}, 1.0 - {k}))",),
        ("{k}*{a}**{k1}",),
    ),
    "pow": Op("power({a}, {k})", ("{g} * {k} * power({a}, {k} - 1.0)",), ("{k}*{a}**{k1}",)),
    "exp": Op("exp({a})", ("{g} * {out}",), ("{out}",)),
    "log": Op("log({a})", ("div({g}, {a})",), ("1/{a}",)),
    "sqrt": Op("sqrt({a})", ("div({g}, 2.0 * {out})",), ("1/(2*{out})",)),
    "sin": Op("sin({a})", ("{g} * cos({a})",), ("cos({ra})",)),
    "cos": Op("cos({a})", ("{g} * -sin({a})",), ("-sin({ra})",)),
    "tanh": Op("tanh({a})", ("{g} * (1.0 - {out} * {out})",), ("(1 - {out}**2)",)),
    "sigmoid": Op(
        "1.0 / (1.0 + exp(-{a}))", ("{g} * {out} * (1.0 - {out})",), ("{out}*(1 - {out})",)
    ),
    "relu": Op("{a} if {a} > 0.0 else 0.0", ("{g} if {a} > 0.0 else 0.0",), ("[{a} > 0]",)),
    "abs": Op(
        "fabs({a})",
        ("{g} if {a} > 0.0 else -{g} if {a} < 0.0 else 0.0",),
        ("sign({a})",),
    ),
}
BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
# The ops an expression calls by name, `exp(...)`: adding one here and to OPS is all it takes.
FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs")
assert set(FUNCTIONS) <= set(OPS)


def powi(x: float, k: float) -> float:
    """x**k for a whole k >= 0: 1.0 times x, k times, left to right (x**2 is exactly x*x)."""
    r = 1.0
    while k >= 1.0:
        r = r * x
        k -= 1.0
    return r


# The helpers in numba: IEEE results (x/0 is inf under error_model="numpy"), same operations.
# `power` spells out what LLVM does to pow(x, 0.5) with a constant exponent (it becomes
# fabs(sqrt(x)), correctly rounded, where libm's pow is off by an ulp for ~0.1% of x), so the
# readable `_power` computes the same; LLVM leaves pow with any other constant exponent alone.
PRELUDE = """from math import cos, exp, fabs, inf, log, pow, sin, sqrt, tanh

from numba import njit, types


@njit(nogil=True, error_model="numpy")
def div(a, b):
    return a / b


@njit(nogil=True, error_model="numpy")
def powi(x, k):
    r = 1.0
    while k >= 1.0:
        r = r * x
        k -= 1.0
    return r


@njit(nogil=True, error_model="numpy")
def power(x, k):
    if k == 0.5:
        return inf if x == -inf else fabs(sqrt(x))
    return pow(x, k)
"""


def _ieee(
    fn: Callable[[float], float], domain: Callable[[float], float]
) -> Callable[[float], float]:
    """fn with C's results where Python raises: overflow gives inf, a domain error `domain(x)`."""

    def safe(x: float) -> float:
        try:
            return fn(x)
        except OverflowError:
            return math.inf
        except ValueError:
            return domain(x)

    return safe


def _div(a: float, b: float) -> float:
    """a / b with IEEE results for b == 0 (±inf, or NaN for 0/0) instead of ZeroDivisionError."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _pow(x: float, k: float) -> float:
    """math.pow with C's results: inf on overflow and for 0**negative, NaN for (-x)**fraction."""
    try:
        return math.pow(x, k)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.inf if x == 0.0 else math.nan


def _power(x: float, k: float) -> float:
    """x**k for a fractional constant k, as the compiled `power`: k = 0.5 is fabs(sqrt(x))."""
    if k == 0.5:
        return math.inf if x == -math.inf else math.fabs(_ieee(math.sqrt, lambda x: NAN)(x))
    return _pow(x, k)


NAN = math.nan
READABLE_NAMESPACE: dict[str, object] = {
    "exp": _ieee(math.exp, lambda x: NAN),
    "log": _ieee(math.log, lambda x: -math.inf if x == 0.0 else NAN),
    "sqrt": _ieee(math.sqrt, lambda x: NAN),
    "sin": _ieee(math.sin, lambda x: NAN),
    "cos": _ieee(math.cos, lambda x: NAN),
    "tanh": math.tanh,
    "fabs": math.fabs,
    "power": _power,
    "div": _div,
    "powi": powi,
}

Forward = Callable[[float, float, float], float]
Local = Callable[[float, float, float, float, float], float]


def _compile(template: str, params: str) -> Callable[..., float]:
    """A row's template as a Python function of `params` (the table's own constant text)."""
    source = template.format(a="a", b="b", out="out", g="g", k="k")
    code = compile(f"lambda {params}: {source}", f"<op {template}>", "eval")
    fn: Callable[..., float] = eval(code, {"__builtins__": {}, **READABLE_NAMESPACE})  # noqa: S307
    return fn


@dataclass(frozen=True)
class Readable:
    """A row of the table as Python functions: forward(a, b, k), local[i](a, b, out, g, k)."""

    forward: Forward
    local: tuple[Local, ...]


READABLE: dict[str, Readable] = {
    name: Readable(
        _compile(op.forward, "a, b, k"), tuple(_compile(t, "a, b, out, g, k") for t in op.local)
    )
    for name, op in OPS.items()
}
