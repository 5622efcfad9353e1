"""The plausible wrong local derivatives of each op, and the wrong forward ops, as data.

The one table of what students get wrong in a single op, beside (not inside) the ops table
(service/core/graphs/ops.py, whose rows hold the right forward and local derivatives). A row of
``WRONG_DERIVATIVES[op]`` is one wrong d(out)/d(operand): the operand it is for, its key, how a
student writes it (``{a}``, ``{b}``, ``{out}`` as in the ops table), the catalogue family it
belongs to (``wrong_derivative``, ``double_activation``: the derivative applied to the op's
output, ``wrong_operand``: the wrong factor of a product) and the factor as a function of
(a, b, out, k); the chain rule multiplies it by the upstream gradient, as the right one is.
``WRONG_FORWARD[op]`` lists the ops a student writes instead (sin for cos, a for a*a, ...);
``MUTANT_OPS`` are the forward-only mistakes no row of the ops table computes (sigmoid with the
exponent's sign flipped), each with its local derivative so a mutated forward still has a dy_pred.

Tested by tests/core/grading/test_graph_mistakes.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from service.core.graphs.ops import READABLE, Readable

Factor = Callable[[float, float, float, float], float]  # (a, b, out, k) -> local factor


def _sig(v: float) -> float:
    if v < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-v))


def _safe_div(a: float, b: float) -> float:
    return a / b if b != 0.0 else math.nan


def _pow(a: float, k: float) -> float:
    try:
        return float(math.pow(a, k))
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan


@dataclass(frozen=True)
class WrongDerivative:
    """One wrong local derivative of an op's operand."""

    operand: int
    key: str  # unique within the op
    text: str  # as a student writes it
    family: str  # wrong_derivative | double_activation | wrong_operand
    factor: Factor


def _w(operand: int, key: str, text: str, factor: Factor, family: str = "wrong_derivative") -> (
    WrongDerivative
):  # fmt: skip
    return WrongDerivative(operand, key, text, family, factor)


# x**k lowered wrong: the same two slips whether k is an integer (powi) or not (pow)
_POWER = (
    _w(0, "k*a^k", "{k}*{a}^{k} (the exponent not lowered)", lambda a, b, o, k: k * _pow(a, k)),
    _w(0, "a^(k-1)", "{a}^({k}-1) (the factor {k} missing)", lambda a, b, o, k: _pow(a, k - 1.0)),
)

WRONG_DERIVATIVES: dict[str, tuple[WrongDerivative, ...]] = {
    "sin": (
        _w(0, "-cos", "-cos({a})", lambda a, b, o, k: -math.cos(a)),
        _w(0, "sin", "sin({a})", lambda a, b, o, k: math.sin(a)),
        _w(0, "-sin", "-sin({a})", lambda a, b, o, k: -math.sin(a)),
        _w(0, "|cos|", "|cos({a})|", lambda a, b, o, k: abs(math.cos(a))),
    ),
    "cos": (
        _w(0, "sin", "sin({a})", lambda a, b, o, k: math.sin(a)),
        _w(0, "cos", "cos({a})", lambda a, b, o, k: math.cos(a)),
        _w(0, "-cos", "-cos({a})", lambda a, b, o, k: -math.cos(a)),
    ),
    "tanh": (
        _w(0, "1+t^2", "1 + {out}^2", lambda a, b, o, k: 1.0 + o * o),
        _w(0, "1-t", "1 - {out}", lambda a, b, o, k: 1.0 - o),
        _w(0, "t(1-t)", "{out}*(1 - {out})", lambda a, b, o, k: o * (1.0 - o)),
        _w(0, "1-a^2", "1 - {a}^2 (the input for the output)", lambda a, b, o, k: 1.0 - a * a),
        _w(
            0,
            "t'(t)",
            "1 - tanh({out})^2",
            lambda a, b, o, k: 1.0 - math.tanh(o) ** 2,
            "double_activation",
        ),  # fmt: skip
    ),
    "sigmoid": (
        _w(0, "s", "{out} alone", lambda a, b, o, k: o),
        _w(0, "s(1+s)", "{out}*(1 + {out})", lambda a, b, o, k: o * (1.0 + o)),
        _w(0, "1-s", "1 - {out}", lambda a, b, o, k: 1.0 - o),
        _w(
            0,
            "a(1-a)",
            "{a}*(1 - {a}) (the input for the output)",
            lambda a, b, o, k: a * (1.0 - a),
        ),  # fmt: skip
        _w(
            0,
            "s'(s)",
            "s'({out})",
            lambda a, b, o, k: _sig(o) * (1.0 - _sig(o)),
            "double_activation",
        ),  # fmt: skip
    ),
    "exp": (
        _w(0, "1", "1", lambda a, b, o, k: 1.0),
        _w(0, "a", "{a}", lambda a, b, o, k: a),
    ),
    "log": (
        _w(0, "a", "{a}", lambda a, b, o, k: a),
        _w(0, "-1/a", "-1/{a}", lambda a, b, o, k: _safe_div(-1.0, a)),
    ),
    "sqrt": (_w(0, "1/sqrt", "1/{out} (the 2 missing)", lambda a, b, o, k: _safe_div(1.0, o)),),
    "square": (
        _w(0, "a", "{a} (the 2 missing)", lambda a, b, o, k: a),
        _w(0, "2", "2 (the {a} missing)", lambda a, b, o, k: 2.0),
    ),
    "powi": _POWER,
    "pow": _POWER,
    "mul": (
        _w(
            0,
            "a",
            "{a} (its own operand, not the other factor)",
            lambda a, b, o, k: a,
            "wrong_operand",
        ),  # fmt: skip
        _w(
            1,
            "b",
            "{b} (its own operand, not the other factor)",
            lambda a, b, o, k: b,
            "wrong_operand",
        ),  # fmt: skip
    ),
    "div": (
        _w(0, "b", "{b} (multiplied, not divided)", lambda a, b, o, k: b),
        _w(1, "a/b^2", "{a}/{b}^2 (the minus missing)", lambda a, b, o, k: _safe_div(a, b * b)),
        _w(1, "-1/b^2", "-1/{b}^2 (the {a} missing)", lambda a, b, o, k: _safe_div(-1.0, b * b)),
        _w(1, "-a/b", "-{a}/{b} (not squared)", lambda a, b, o, k: _safe_div(-a, b)),
    ),
    "relu": (
        _w(0, "a", "{a} (the value, not the step)", lambda a, b, o, k: a),
        _w(0, "1", "1 (always on)", lambda a, b, o, k: 1.0),
    ),
    "abs": (_w(0, "1", "1 (the sign dropped)", lambda a, b, o, k: 1.0),),
}

# The op a student writes instead of another (same operands): cos for sin, a for a*a, ...
WRONG_FORWARD: dict[str, tuple[str, ...]] = {
    "sin": ("cos",),
    "cos": ("sin",),
    "tanh": ("sigmoid",),
    "sigmoid": ("tanh", "sigmoid_flipped"),
    "square": ("copy",),
    "sub": ("add",),
    "add": ("sub",),
    "exp": ("copy",),
}


def _flipped(a: float, b: float, k: float) -> float:
    return 1.0 - _sig(a)  # 1/(1 + e^a)


def _flipped_local(a: float, b: float, out: float, g: float, k: float) -> float:
    return g * -(out * (1.0 - out))


MUTANT_OPS: dict[str, Readable] = {"sigmoid_flipped": Readable(_flipped, (_flipped_local,))}
OP_TEXT = {
    "sigmoid_flipped": "1/(1 + e^{a}) (the exponent's sign flipped)",
    "copy": "{a}",
    "cos": "cos({a})",
    "sin": "sin({a})",
    "tanh": "tanh({a})",
    "sigmoid": "sigmoid({a})",
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
}
OPERATIONS: dict[str, Readable] = {**READABLE, **MUTANT_OPS}
