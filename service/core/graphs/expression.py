"""Expressions of a graph definition: a hand-written recursive-descent parser into a small tree.

Grammar (lowest precedence first; `**` binds tighter than unary minus, as in Python):

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | power
    power   := primary ("**" exponent)?
    exponent:= ["-" | "+"] NUMBER | "(" ["-" | "+"] NUMBER ")"
    primary := NUMBER | NAME | FUNCTION "(" expr ")" | "(" expr ")"

NUMBER is a finite decimal (`2`, `0.5`, `1e-3`), NAME an ASCII identifier. A name followed by
"(" is a call of one of FUNCTIONS; a bare name is a value (a node may share a function's name).
The tree is plain data: nothing here or downstream ever evaluates the user's text as code.
(Over 250 lines: the tokenizer, the parser and the printer of one small language.)

Tested by tests/core/graphs/test_definition.py (parse errors, safety, round trips).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from service.core.errors import GraphLimitExceeded, InvalidGraph
from service.core.graphs.ops import FUNCTIONS

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("**", "+", "-", "*", "/", "(", ")")


@dataclass(frozen=True)
class Num:
    """A constant."""

    value: float
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Name:
    """A reference to an input, a weight, a node or the target `y`."""

    id: str
    pos: int = field(default=0, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Expr
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Binary:
    """`left op right` for op in + - * /."""

    op: str
    left: Expr
    right: Expr
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Power:
    """`base ** exponent`, the exponent a constant."""

    base: Expr
    exponent: float
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Call:
    """`func(arg)` for func in FUNCTIONS."""

    func: str
    arg: Expr
    depth: int = field(default=1, compare=False)


Expr = Num | Name | Neg | Binary | Power | Call


@dataclass(frozen=True)
class Token:
    kind: str  # number | name | op | end
    text: str
    pos: int


def tokenize(text: str, node: str) -> list[Token]:
    """The tokens of `text`; anything outside the grammar's alphabet is an error at its position."""
    tokens, pos = [], 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
            continue
        if match := _NUMBER.match(text, pos):
            tokens.append(Token("number", match.group(), pos))
        elif match := NAME_PATTERN.match(text, pos):
            tokens.append(Token("name", match.group(), pos))
        elif op := next((op for op in _OPERATORS if text.startswith(op, pos)), None):
            tokens.append(Token("op", op, pos))
            pos += len(op)
            continue
        else:
            raise InvalidGraph(
                f"unexpected character {char!r}",
                node=node,
                position=pos,
                expected="a number, a name, a call, an operator (+ - * / **) or a parenthesis",
            )
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, node: str, max_depth: int, max_exponent: float) -> None:
        self.tokens = tokenize(text, node)
        self.i = 0
        self.node, self.max_depth, self.max_exponent = node, max_depth, max_exponent
        self.nesting = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def fail(self, detail: str, expected: str) -> InvalidGraph:
        return InvalidGraph(detail, node=self.node, position=self.token.pos, expected=expected)

    def deeper(self, depth: int) -> int:
        if depth > self.max_depth:
            raise GraphLimitExceeded(
                f"the expression nests deeper than {self.max_depth} levels",
                node=self.node,
                position=self.token.pos,
                limit="depth",
            )
        return depth

    def accept(self, op: str) -> bool:
        if self.token.kind == "op" and self.token.text == op:
            self.i += 1
            return True
        return False

    def parse(self) -> Expr:
        tree = self.expr()
        if self.token.kind != "end":
            raise self.fail(f"unexpected {self.token.text!r}", "an operator or the end")
        return tree

    def expr(self) -> Expr:
        left = self.term()
        while self.token.kind == "op" and self.token.text in "+-":
            op = self.token.text
            self.i += 1
            right = self.term()
            left = Binary(op, left, right, self.deeper(max(left.depth, right.depth) + 1))
        return left

    def term(self) -> Expr:
        left = self.unary()
        while self.token.kind == "op" and self.token.text in ("*", "/"):
            op = self.token.text
            self.i += 1
            right = self.unary()
            left = Binary(op, left, right, self.deeper(max(left.depth, right.depth) + 1))
        return left

    def unary(self) -> Expr:
        if self.accept("-"):
            self.nesting = self.deeper(self.nesting + 1)
            operand = self.unary()
            self.nesting -= 1
            if isinstance(operand, Num):  # -2 is the constant -2, not an operation
                return Num(-operand.value)
            return Neg(operand, self.deeper(operand.depth + 1))
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if not self.accept("**"):
            return base
        parenthesized = self.accept("(")
        sign = -1.0 if self.accept("-") else 1.0
        if sign > 0:
            self.accept("+")
        if self.token.kind != "number":
            raise self.fail("the exponent is not a constant", "a number after '**'")
        exponent = sign * self.number(self.token.text)
        if abs(exponent) > self.max_exponent:
            raise GraphLimitExceeded(
                f"the exponent {self.token.text} is larger than {self.max_exponent:g}",
                node=self.node,
                position=self.token.pos,
                limit="exponent",
            )
        self.i += 1
        if parenthesized and not self.accept(")"):
            raise self.fail("unclosed parenthesis", "')'")
        if self.token.kind == "op" and self.token.text == "**":
            raise self.fail("chained '**'", "one constant exponent; use parentheses")
        return Power(base, exponent, self.deeper(base.depth + 1))

    def number(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise self.fail(f"the number {text} is not a finite float64", "a finite number")
        return value

    def primary(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.i += 1
            return Num(self.number(token.text))
        if token.kind == "name":
            self.i += 1
            if not self.accept("("):
                return Name(token.text, token.pos)
            if token.text not in FUNCTIONS:
                raise InvalidGraph(
                    f"unknown function {token.text!r}",
                    node=self.node,
                    position=token.pos,
                    expected="one of " + ", ".join(FUNCTIONS),
                )
            arg = self.nested()
            return Call(token.text, arg, self.deeper(arg.depth + 1))
        if self.accept("("):
            return self.nested()
        raise self.fail(
            "unexpected end" if token.kind == "end" else f"unexpected {token.text!r}",
            "a number, a name, '-', a function call or '('",
        )

    def nested(self) -> Expr:
        """An expression inside parentheses, whose "(" has just been read."""
        self.nesting = self.deeper(self.nesting + 1)
        inner = self.expr()
        if not self.accept(")"):
            raise self.fail("unclosed parenthesis", "')'")
        self.nesting -= 1
        return inner


def parse(text: str, node: str, *, max_depth: int = 32, max_exponent: float = 16.0) -> Expr:
    """The tree of `text`, the expression of `node`; InvalidGraph says where and what was wanted."""
    return _Parser(text, node, max_depth, max_exponent).parse()


def children(tree: Expr) -> tuple[Expr, ...]:
    """The operands of `tree`, left to right."""
    if isinstance(tree, Binary):
        return (tree.left, tree.right)
    if isinstance(tree, Power):
        return (tree.base,)
    if isinstance(tree, Neg):
        return (tree.operand,)
    if isinstance(tree, Call):
        return (tree.arg,)
    return ()


def names(tree: Expr) -> list[Name]:
    """Every name the expression refers to, left to right."""
    if isinstance(tree, Name):
        return [tree]
    return [name for child in children(tree) for name in names(child)]


def operations(tree: Expr) -> int:
    """How many operations the expression performs."""
    if isinstance(tree, Num | Name):
        return 0
    return 1 + sum(operations(child) for child in children(tree))


def number(value: float) -> str:
    """A constant in shortest round-trip form, integers without a fraction (`2`, `0.5`, `1e-07`)."""
    if value.is_integer() and abs(value) < 1e16:
        text = str(int(value))
        return "-0" if text == "0" and math.copysign(1.0, value) < 0 else text
    return repr(value)


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}  # unary minus 3, ** 4, atoms 5


def precedence(tree: Expr) -> int:
    """How tightly the printed form of `tree` binds, for deciding on parentheses."""
    if isinstance(tree, Binary):
        return _PRECEDENCE[tree.op]
    if isinstance(tree, Neg) or (isinstance(tree, Num) and math.copysign(1.0, tree.value) < 0):
        return 3
    return 4 if isinstance(tree, Power) else 5


def unparse(tree: Expr) -> str:
    """The canonical text of `tree`: parentheses only where needed, so parse(unparse(t)) == t."""
    if isinstance(tree, Num):
        return number(tree.value)
    if isinstance(tree, Name):
        return tree.id
    if isinstance(tree, Call):
        return f"{tree.func}({unparse(tree.arg)})"
    if isinstance(tree, Neg):
        inner = unparse(tree.operand)
        return f"-{inner}" if precedence(tree.operand) >= 3 else f"-({inner})"
    if isinstance(tree, Power):
        base = unparse(tree.base)
        base = base if precedence(tree.base) == 5 else f"({base})"
        return f"{base}**{number(tree.exponent)}"
    level = _PRECEDENCE[tree.op]
    left, right = unparse(tree.left), unparse(tree.right)
    if precedence(tree.left) < level:
        left = f"({left})"
    if precedence(tree.right) <= level:  # a - (b - c), and a + (b + c) is not (a + b) + c
        right = f"({right})"
    spaced = " " if level == 1 else ""
    return f"{left}{spaced}{tree.op}{spaced}{right}"
