"""An independent oracle: a graph as one sympy expression, differentiated symbolically."""

from __future__ import annotations

from collections.abc import Sequence

import mpmath  # type: ignore[import-untyped]
import sympy  # type: ignore[import-untyped]

from service.core.graphs.definition import Graph
from service.core.graphs.expression import Binary, Call, Expr, Name, Neg, Num, Power

FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "sigmoid": lambda z: 1 / (1 + sympy.exp(-z)),
    "abs": sympy.Abs,
    "relu": lambda z: sympy.Max(z, 0),
}


def to_sympy(tree: Expr, env: dict[str, sympy.Expr]) -> sympy.Expr:
    if isinstance(tree, Num):
        return sympy.Rational(tree.value)
    if isinstance(tree, Name):
        return env[tree.id]
    if isinstance(tree, Neg):
        return -to_sympy(tree.operand, env)
    if isinstance(tree, Power):
        return to_sympy(tree.base, env) ** sympy.Rational(tree.exponent)
    if isinstance(tree, Call):
        return FUNCTIONS[tree.func](to_sympy(tree.arg, env))
    assert isinstance(tree, Binary)
    left, right = to_sympy(tree.left, env), to_sympy(tree.right, env)
    return {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[tree.op]


def gradients(
    graph: Graph, x: Sequence[float], y: float, w: Sequence[float], dps: int = 40
) -> tuple[list[mpmath.mpf], list[mpmath.mpf]]:
    """dloss/dw and dloss/dx at the point, from sympy's derivative evaluated at `dps` digits."""
    symbols = {name: sympy.Symbol(name) for name in (*graph.inputs, *graph.weights, "y")}
    env: dict[str, sympy.Expr] = dict(symbols)
    for name in graph.order:
        env[name] = to_sympy(graph.nodes[name], env)
    loss = to_sympy(graph.loss, env)
    leaves = [symbols[n] for n in (*graph.weights, *graph.inputs)]
    derivatives = [sympy.diff(loss, s) for s in leaves]
    order = [symbols[n] for n in (*graph.inputs, *graph.weights, "y")]
    fn = sympy.lambdify(order, derivatives, modules="mpmath")
    with mpmath.workdps(dps):
        values = fn(*[mpmath.mpf(v) for v in (*x, *w, y)])
    return values[: len(graph.weights)], values[len(graph.weights) :]
