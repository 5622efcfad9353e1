"""The wrong versions of the forward pass, the backward pass and the gradient check, as a search.

A mistake is a ``Mutation``: one wrong code path at one site of the computation, named with the
catalogue's label (``kind@site``) and a sentence a student understands. ``CATALOGUE`` lists them
as data. A wrong version is a set of mutations (one, or two at once) applied to the one
computation: the forward pass is the graph's stages evaluated with the mutated operations; the
backward pass is ``graph.adjoints`` (the one chain rule) run on a mutated cache, with mutated local
derivatives (``local=``), mutated upstream gradients (``given=``), and a mutated last line; the
gradient check is the central difference with its perturbation, difference, divisor, comparison
and gradient each replaced. ``search`` builds every single mutation and every compatible pair, in
order of size, so the grader (``policy.grade``) can prefer the simplest explanation that matches.

For another graph: the forward and backward sites here are the course graph's; a graph-definition
version provides the same three things (``Mutation`` entries per op from an op table, a mutated
forward, and a chain rule taking ``local=``/``given=``), and ``search`` and the grader are reused
unchanged. (Over 250 lines: the catalogue of three tasks' mutations, as data beside their code.)

Tested by tests/core/grading/test_mistakes.py.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from service.core.errors import NumericalOverflow
from service.core.gradcheck import norm_ratio
from service.core.grading.policy import Value, Variant
from service.core.graph import GRADIENT_NAMES, Cache, adjoints, backward, forward, sigmoid
from service.core.graph import exp as safe_exp

GLOBAL_W = (0.1,) * 9  # the notebook's global w, which some students' functions read by accident


@dataclass(frozen=True)
class Mutation:
    """One wrong code path: its catalogue label, the sentence for a student, and where it acts."""

    key: str  # unique: the label, with the variant of the site when a label has several
    label: str  # the catalogue's kind@site
    sentence: str
    task: str  # forward | backward | gradcheck
    group: str = ""  # mutations of one group exclude each other (one site, one replacement)


def _m(key: str, sentence: str, task: str, group: str = "", label: str = "") -> Mutation:
    return Mutation(key, label or key.split(":")[0], sentence, task, group or key)


FORWARD = (
    _m("sign_flip@sigmoid", "sigmoid written 1/(1+e^z): the exponent's sign is flipped", "forward"),
    _m("dropped_term@w6", "w6 left out of e^(a*a + w6)", "forward", "w6"),
    _m("dropped_term@w7", "w7 left out of tanh(exp + w7)", "forward", "w7"),
    _m("misplaced@w7", "w7 added outside tanh: tanh(exp) + w7", "forward", "w7"),
    _m("dropped_term@w8", "w8 left out of sigmoid(sin(w3*f3)*q + w8)", "forward"),
    _m("misplaced@w9", "w9 multiplying tanh instead of sigmoid", "forward"),
    _m("wrong_op@loss:diff", "the loss not squared: y - y_pred", "forward", "loss"),
    _m("wrong_op@loss:rdiff", "the loss not squared: y_pred - y", "forward", "loss"),
    _m("wrong_op@loss:abs", "the loss not squared: |y - y_pred|", "forward", "loss"),
    _m(
        "wrong_constant@loss",
        "the loss halved: 0.5*(y - y_pred)^2, dy_pred with it",
        "forward",
        "loss",
    ),  # fmt: skip
    _m("sign_flip@dy_pred", "dy_pred with its sign flipped: 2*(y - y_pred)", "forward", "dy"),
    _m("wrong_constant@dy_pred", "dy_pred without its factor 2: -(y - y_pred)", "forward", "dy"),
    _m("wrong_op@sin", "cos(w3*f3) where sin(w3*f3) belongs", "forward"),
    _m("wrong_op@square", "a where a*a belongs, inside exp", "forward", "w6"),
    _m("swapped_operands@q", "f4 and f5 swapped in q = w4*f4 + w5*f5", "forward"),
    _m("swapped_operands@a", "f1 and f2 swapped in a = w1*f1 + w2*f2", "forward"),
    *(
        _m(
            f"off_by_one@x:f{i + 1}",
            f"f{i + 2} read where f{i + 1} belongs (an index one off)",
            "forward",
            "index",
        )  # fmt: skip
        for i in range(4)
    ),
    _m("global_w", "the notebook's global w = [0.1]*9 used instead of the w passed in", "forward"),
)

BACKWARD = (
    _m(
        "wrong_derivative@sin:sin",
        "sin's derivative taken as sin (sin(w3*f3) for cos(w3*f3))",
        "backward",
        "sin",
    ),  # fmt: skip
    _m("wrong_derivative@sin:abs", "sin's derivative taken as |cos(w3*f3)|", "backward", "sin"),
    _m("dropped_factor@f3", "the chain factor f3 missing from dw3", "backward", "f3"),
    _m(
        "wrong_derivative@tanh:1-t",
        "tanh's derivative taken as 1 - tanh, not 1 - tanh^2",
        "backward",
        "tanh",
    ),  # fmt: skip
    _m(
        "wrong_derivative@tanh:t(1-t)",
        "tanh's derivative taken as tanh*(1 - tanh) (sigmoid's form), not 1 - tanh^2",
        "backward",
        "tanh",
    ),  # fmt: skip
    _m(
        "double_activation@tanh",
        "tanh's derivative applied to tanh's output: 1 - tanh(tanh)^2",
        "backward",
        "tanh",
    ),  # fmt: skip
    _m(
        "wrong_derivative@sigmoid",
        "sigmoid's derivative taken as sigmoid alone, not sigmoid*(1 - sigmoid)",
        "backward",
        "sigmoid",
    ),  # fmt: skip
    _m(
        "double_activation@sigmoid",
        "sigmoid's derivative applied to sigmoid's output: s'(s)",
        "backward",
        "sigmoid",
    ),  # fmt: skip
    _m("wrong_derivative@square", "the derivative of a*a taken as a instead of 2*a", "backward"),
    _m("dropped_factor@w9", "the chain factor w9 missing from the sigmoid branch", "backward"),
    _m(
        "dropped_factor@exp",
        "the chain factor exp missing from dw6 (and what follows it)",
        "backward",
    ),  # fmt: skip
    _m("dropped_factor@dy_pred", "the upstream dy_pred missing from dw9", "backward", "dw9"),
    _m("wrong_operand@dw9", "dw9 multiplying tanh instead of sigmoid", "backward", "dw9"),
    _m("dropped_factor@q", "the factor q missing from dw3", "backward"),
    _m(
        "sign_flip@dy_pred",
        "the gradient's sign flipped (dy_pred = -2*(y - y_pred))",
        "backward",
        "dy",
    ),  # fmt: skip
    _m("wrong_constant@dy_pred", "dy_pred without its factor 2: -(y - y_pred)", "backward", "dy"),
    _m("swapped_operands@q", "f4 and f5 swapped: dw4 carries f5 and dw5 carries f4", "backward"),
    _m("swapped_operands@a", "f1 and f2 swapped: dw1 carries f2 and dw2 carries f1", "backward"),
    _m("off_by_one@x", "dw3's cos(w3*f3)*f3 reading f4 for f3 (an index one off)", "backward"),
    _m(
        "global_w", "the notebook's global w = [0.1]*9 read instead of the w passed in", "backward"
    ),  # fmt: skip
)

CATALOGUE: tuple[Mutation, ...] = (*FORWARD, *BACKWARD)


def explanation(mutations: Sequence[Mutation]) -> str:
    """The sentences of the mutations, joined for a student."""
    return "; and ".join(m.sentence for m in mutations)


def search(
    catalogue: Sequence[Mutation],
    evaluate: Callable[[frozenset[str]], Mapping[str, Value] | None],
    pairs: bool = True,
) -> list[Variant]:
    """Every single mutation, then every pair of mutations of different groups, evaluated.

    ``evaluate`` gets the mutation keys and returns the wrong version's values (None when it does
    not exist at this point, e.g. it overflows). Smallest first, so the first match is the
    simplest explanation.
    """
    return [
        Variant(name, text, values, labels)
        for keys, name, text, labels in _sets(tuple(catalogue), pairs)
        if (values := evaluate(keys)) is not None
    ]


@lru_cache(maxsize=64)
def _sets(
    catalogue: tuple[Mutation, ...], pairs: bool
) -> tuple[tuple[frozenset[str], str, str, tuple[str, ...]], ...]:
    """search's mutation sets, each with its keys, id, explanation and labels (the same at every
    point: worked out once per catalogue)."""
    sets: list[tuple[Mutation, ...]] = [(m,) for m in catalogue]
    if pairs:
        sets += [
            (a, b) for a, b in itertools.combinations(catalogue, 2) if a.group != b.group
        ]  # fmt: skip
    out = []
    for chosen in sets:
        labels = tuple(dict.fromkeys(m.label for m in chosen))
        keys = frozenset(m.key for m in chosen)
        out.append((keys, "+".join(labels), explanation(chosen), labels))
    return tuple(out)


# ---- the forward pass --------------------------------------------------------------------------


def forward_values(
    x: Sequence[float], y: float, w: Sequence[float], m: frozenset[str]
) -> dict[str, float] | None:
    """The graph's forward stages with the mutations `m` applied (None if not finite)."""
    w = GLOBAL_W if "global_w" in m else tuple(w)
    f = list(x)
    fa1, fa2 = (f[1], f[0]) if "swapped_operands@a" in m else (f[0], f[1])
    fq4, fq5 = (f[4], f[3]) if "swapped_operands@q" in m else (f[3], f[4])
    fa1 = f[1] if "off_by_one@x:f1" in m else fa1
    fa2 = f[2] if "off_by_one@x:f2" in m else fa2
    fs3 = f[3] if "off_by_one@x:f3" in m else f[2]
    fq4 = f[4] if "off_by_one@x:f4" in m else fq4
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = w
    a = w1 * fa1 + w2 * fa2
    z = (a if "wrong_op@square" in m else a * a) + (0.0 if "dropped_term@w6" in m else w6)
    e = safe_exp(z)
    inner = "dropped_term@w7" in m or "misplaced@w7" in m
    t = math.tanh(e + (0.0 if inner else w7)) + (w7 if "misplaced@w7" in m else 0.0)
    q = w4 * fq4 + w5 * fq5
    sn = (math.cos if "wrong_op@sin" in m else math.sin)(w3 * fs3)
    zs = sn * q + (0.0 if "dropped_term@w8" in m else w8)
    s = 1.0 / (1.0 + safe_exp(zs)) if "sign_flip@sigmoid" in m else sigmoid(zs)
    y_pred = w9 * t + s if "misplaced@w9" in m else t + w9 * s
    d = y - y_pred
    loss = d * d
    dy = -2.0 * d
    if "wrong_constant@loss" in m:
        loss, dy = 0.5 * d * d, -d
    loss = {"wrong_op@loss:diff": d, "wrong_op@loss:rdiff": -d, "wrong_op@loss:abs": abs(d)}.get(
        next((k for k in m if k.startswith("wrong_op@loss")), ""), loss
    )
    if "sign_flip@dy_pred" in m:
        dy = -dy
    if "wrong_constant@dy_pred" in m:
        dy = dy / 2.0
    values = {"exp": e, "tanh": t, "sigmoid": s, "y_pred": y_pred, "loss": loss, "dy_pred": dy}
    return values if all(map(math.isfinite, values.values())) else None


@lru_cache(maxsize=256)
def forward_variants(c: Cache) -> tuple[Variant, ...]:
    """Wrong versions of the forward pass at the cached point: single and paired mutations
    (memoized per point: a class's submissions to one case search once)."""
    return tuple(search(FORWARD, lambda m: forward_values(c.x, c.y, c.w, m)))


def _follows(source: str, values: Mapping[str, Value]) -> Variant:
    return Variant(
        "follows_from_upstream",
        f"the right formula applied to {source}, so this item is right and the mistake is upstream",
        values,
    )


def _numbers(submitted: Mapping[str, Value]) -> dict[str, float]:
    return {k: float(v) for k, v in submitted.items() if isinstance(v, float | int)}


def forward_follows(c: Cache, submitted: Mapping[str, Value]) -> list[Variant]:
    """Each forward value from the student's own upstream values, by the right formula."""
    s, w, y = _numbers(submitted), c.w, c.y
    out = []
    if "exp" in s:
        out.append(_follows("your own exp", {"tanh": math.tanh(s["exp"] + w[6])}))
    if "tanh" in s and "sigmoid" in s:
        y_pred = s["tanh"] + w[8] * s["sigmoid"]
        d = y - y_pred
        values: dict[str, Value] = {"y_pred": y_pred, "loss": d * d, "dy_pred": -2.0 * d}
        out.append(_follows("your own tanh and sigmoid", values))
    if "y_pred" in s:
        d = y - s["y_pred"]
        out.append(_follows("your own y_pred", {"loss": d * d, "dy_pred": -2.0 * d}))
    return out


# ---- the backward pass -------------------------------------------------------------------------


def _global_cache(c: Cache) -> Cache:
    """The cache a backward reading the global w sees: the forward dict's values, the global w's
    a, q, sin(w3*f3), w3 and w9."""
    f1, f2, f3, f4, f5 = c.x
    g = GLOBAL_W
    return c._replace(
        w=g, a=g[0] * f1 + g[1] * f2, q=g[3] * f4 + g[4] * f5, sin=math.sin(g[2] * f3)
    )


def backward_values(c: Cache, m: frozenset[str]) -> dict[str, float] | None:
    """graph.adjoints on the cache with the mutations `m` at its sites (None if not finite)."""
    if "global_w" in m:
        c = _global_cache(c)
    f1, f2, f3, f4, f5 = c.x
    if "swapped_operands@q" in m:
        f4, f5 = f5, f4
    if "swapped_operands@a" in m:
        f1, f2 = f2, f1
    if "off_by_one@x" in m:
        f3 = f4
    dy = c.dy_pred
    if "sign_flip@dy_pred" in m:
        dy = -dy
    if "wrong_constant@dy_pred" in m:
        dy = dy / 2.0
    c = c._replace(x=(f1, f2, f3, f4, f5), dy_pred=dy, q=1.0 if "dropped_factor@q" in m else c.q)
    w3f3 = c.w[2] * f3
    local: dict[str, float] = {}
    d_sin = math.cos(w3f3)
    if "wrong_derivative@sin:sin" in m:
        d_sin = math.sin(w3f3)
    if "wrong_derivative@sin:abs" in m:
        d_sin = abs(d_sin)
    if "dropped_factor@f3" in m:  # adjoints multiplies by f3: this local derivative undoes it
        if f3 == 0.0:
            return None
        d_sin /= f3
    local["sin"] = d_sin
    t, s = c.tanh, c.sigmoid
    for key, value in (
        ("wrong_derivative@tanh:1-t", 1.0 - t),
        ("wrong_derivative@tanh:t(1-t)", t * (1.0 - t)),
        ("double_activation@tanh", 1.0 - math.tanh(t) ** 2),
    ):
        if key in m:
            local["tanh"] = value
    if "wrong_derivative@sigmoid" in m:
        local["sigmoid"] = s
    if "double_activation@sigmoid" in m:
        local["sigmoid"] = sigmoid(s) * (1.0 - sigmoid(s))
    if "wrong_derivative@square" in m:
        local["square"] = c.a
    if "dropped_factor@w9" in m:
        local["w9"] = 1.0
    given = {}
    if "dropped_factor@exp" in m:
        given["exp_in"] = adjoints(c, local=local).tanh_in
    g = list(adjoints(c, local=local, given=given).weights)
    if "dropped_factor@dy_pred" in m:
        g[8] = s
    if "wrong_operand@dw9" in m:
        g[8] = c.dy_pred * t
    values = dict(zip(GRADIENT_NAMES, g, strict=True))
    return values if all(map(math.isfinite, g)) else None


@lru_cache(maxsize=256)
def backward_variants(c: Cache) -> tuple[Variant, ...]:
    """Wrong versions of the backward pass at the cached point: single and paired mutations
    (memoized per point)."""
    return tuple(search(BACKWARD, lambda m: backward_values(c, m)))


def backward_follows(c: Cache, submitted: Mapping[str, Value]) -> list[Variant]:
    """The gradients below dw7, dw6 and dw8 from the student's own dw7, dw6, dw8 (graph.adjoints'
    `given`: dw7 is dL/d(exp + w7), dw6 dL/d(a*a + w6), dw8 dL/d(sin*q + w8))."""
    s = _numbers(submitted)
    return [_follow(c, own, s[own]) for own in ("dw7", "dw6", "dw8") if own in s]


_BELOW = {
    "dw7": ("tanh_in", ("dw6", "dw1", "dw2")),
    "dw6": ("exp_in", ("dw1", "dw2")),
    "dw8": ("sigmoid_in", ("dw3", "dw4", "dw5")),
}


@lru_cache(maxsize=4096)
def _follow(c: Cache, own: str, value: float) -> Variant:
    """The gradients below `own` from the student's value of it (memoized: a class's right dw7
    is one value)."""
    stage, below = _BELOW[own]
    g = dict(zip(GRADIENT_NAMES, adjoints(c, given={stage: value}).weights, strict=True))
    return _follows(f"your own {own}", {k: g[k] for k in below})


# ---- the gradient check ------------------------------------------------------------------------

GC_PERTURBATION = {
    "one": "",
    "all_at_once": "all nine weights perturbed at once (one directional derivative); perturb one "
    "weight at a time, the others held fixed",
    "not_restored": "a perturbed weight never restored (left at w - eps, so later entries drift)",
    "restored_wrongly": "a perturbed weight restored to the wrong value (w - 2*eps)",
}
GC_DIFFERENCE = {
    "central": "",
    "forward": "a one-sided (L(w + eps) - L(w)) / eps instead of the central difference",
    "backward": "a one-sided (L(w) - L(w - eps)) / eps instead of the central difference",
    "base_overwritten": "the base loss L(w) overwritten by the previous perturbed loss",
}
GC_LABELS = {
    "all_at_once": "gc_all_at_once",
    "not_restored": "gc_not_restored",
    "restored_wrongly": "gc_restored_wrongly",
    "forward": "gc_forward_difference",
    "backward": "gc_backward_difference",
    "base_overwritten": "gc_base_overwritten",
    "divisor": "gc_wrong_divisor",
    "norm_of_sum": "gc_norm_of_sum",
    "unnormalised": "gc_unnormalised",
    "elementwise": "gc_elementwise_ratio",
    "whose": "gc_whose_gradient",
}
GC_SENTENCES = {
    "divisor": "the difference divided by the wrong step (eps for 2*eps, or 2*eps for eps)",
    "norm_of_sum": "||g - n|| / ||g + n||: the norm of the sum in the denominator",
    "unnormalised": "||g - n|| alone, not divided by ||g|| + ||n||",
    "elementwise": "the elementwise ratios (g - n)/(g + n) reduced to one number, not the norm "
    "ratio ||g - n|| / (||g|| + ||n||)",
    "whose": "the numerical gradient compared with another gradient (the notebook's global "
    "point's) than the one checked",
}


@dataclass(frozen=True)
class Numerical:
    """How a numerical gradient was computed: the mutations of its loop."""

    perturbation: str = "one"
    difference: str = "central"
    divisor: bool = False  # the wrong step
    labels: tuple[str, ...] = field(default=())


def numerical_gradient(
    loss: Callable[[Sequence[float]], float], w: Sequence[float], eps: float, how: Numerical
) -> list[float] | None:
    """The student's loop of a numerical gradient, with its mutations (None on overflow)."""
    v = list(w)
    n: list[float] = []
    base = loss(v)
    if how.perturbation == "all_at_once":
        plus, minus = [wi + eps for wi in v], [wi - eps for wi in v]
        lp, lm = loss(plus), loss(minus)
        one = {"central": (lp - lm) / (2 * eps), "forward": (lp - base) / eps,
               "backward": (base - lm) / eps}.get(how.difference)  # fmt: skip
        if one is None:
            return None
        return [one * (2.0 if how.divisor and how.difference == "central" else 1.0)] * len(v)
    for i in range(len(v)):
        old = v[i]
        if how.difference == "central":
            v[i] = old + eps
            lp = loss(v)
            v[i] = old - eps if how.perturbation == "one" else old + eps - 2 * eps
            lm = loss(v)
            d = (lp - lm) / (eps if how.divisor else 2 * eps)
        elif how.difference in ("forward", "base_overwritten"):
            if how.perturbation != "one" and how.difference == "forward":
                base = loss(v)
            v[i] = old + eps
            lp = loss(v)
            d = (lp - base) / (2 * eps if how.divisor else eps)
            if how.difference == "base_overwritten":
                base = lp
        else:
            v[i] = old - eps
            lm = loss(v)
            d = (base - lm) / (2 * eps if how.divisor else eps)
        n.append(d)
        if how.perturbation == "one":
            v[i] = old
        elif how.perturbation == "restored_wrongly" and how.difference == "central":
            v[i] = v[i] - eps
        elif how.perturbation == "not_restored" and how.difference != "central":
            pass
    return n if all(map(math.isfinite, n)) else None


def numerical_variants() -> list[Numerical]:
    """Every mutated numerical-gradient loop: one or two of perturbation, difference, divisor."""
    out = []
    for p, d, div in itertools.product(GC_PERTURBATION, GC_DIFFERENCE, (False, True)):
        labels = tuple(GC_LABELS[k] for k in (p, d) if k in GC_LABELS)
        if d == "base_overwritten":
            labels = ("gc_forward_difference", *labels)
        labels += ("gc_wrong_divisor",) if div else ()
        if 0 < len(labels) <= 2 + (d == "base_overwritten"):
            out.append(Numerical(p, d, div, labels))
    return out


def _sentence(label: str) -> str:
    if label in PER_WEIGHT:
        return f"{PER_WEIGHT[label]} per weight, not the norm ratio ||g - n|| / (||g|| + ||n||)"
    if label == "gc_thresholded":
        return (
            "per-weight booleans (a tolerance test), not the difference ||g - n|| / (||g|| + ||n||)"
        )
    key = next(k for k, v in GC_LABELS.items() if v == label)
    return {**GC_PERTURBATION, **GC_DIFFERENCE, **GC_SENTENCES}[key]


def comparisons(g: Sequence[float], n: Sequence[float]) -> dict[str, float]:
    """The one-number comparisons of g and n students compute: the norm ratio and its mistakes."""
    spread = math.hypot(*(gi - ni for gi, ni in zip(g, n, strict=True)))
    out = {"": norm_ratio(spread, math.hypot(*g) + math.hypot(*n))}
    out["norm_of_sum"] = norm_ratio(
        spread, math.hypot(*(gi + ni for gi, ni in zip(g, n, strict=False)))
    )
    out["unnormalised"] = spread
    if all(gi + ni != 0.0 for gi, ni in zip(g, n, strict=True)):
        ratios = [(gi - ni) / (gi + ni) for gi, ni in zip(g, n, strict=True)]
        for suffix, value in (
            ("mean", math.fsum(ratios) / len(ratios)),
            ("mean_abs", math.fsum(map(abs, ratios)) / len(ratios)),
            ("max_abs", max(map(abs, ratios))),
            ("sum", math.fsum(ratios)),
            ("norm", math.hypot(*ratios)),
        ):
            out[f"elementwise:{suffix}"] = value
    return out


def gradcheck_variants(
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float,
    g: Sequence[float],
    global_g: Sequence[float] | None,
    loss: Callable[[Sequence[float]], float] | None = None,
) -> list[Variant]:
    """Wrong versions of the gradient check of gradient g: numerical loops and comparisons, with
    at most two mutations in all (three where a loop's two come with a right comparison).
    ``loss``: the graph's loss at weights v (default the course graph's at x, y)."""

    def course_loss(v: Sequence[float]) -> float:
        return forward(x, y, v).loss

    loss = loss or course_loss

    try:
        right_n = numerical_gradient(loss, w, eps, Numerical())
    except NumericalOverflow:
        return []
    loops: list[tuple[tuple[str, ...], list[float]]] = [((), right_n or [])]
    for how in numerical_variants():
        try:
            n = numerical_gradient(loss, w, eps, how)
        except NumericalOverflow:
            continue
        if n is not None:
            loops.append((how.labels, n))
    gradients: list[tuple[tuple[str, ...], Sequence[float]]] = [((), g)]
    if global_g is not None:
        gradients.append((("gc_whose_gradient",), global_g))
    variants: list[Variant] = []
    for (nl, n), (gl, gg) in itertools.product(loops, gradients):
        found = _safe(comparisons, gg, n)
        if "gc_all_at_once" in nl:  # n kept as one number: its norm is |n|, not 3|n|
            spread = math.hypot(*(gi - n[0] for gi in gg))
            found["scalar"] = norm_ratio(spread, math.hypot(*gg) + abs(n[0]))
        for name, difference in found.items():
            kind = name.split(":")[0]
            cl = (GC_LABELS[kind],) if kind in GC_LABELS else ()
            labels = nl + gl + cl
            if not labels or len(labels) > 3:
                continue
            values: dict[str, Value] = {"difference": difference, "numerical": list(n)}
            _add(variants, labels, values)
        if len(nl) <= 2 and not gl:
            for pw in per_weight_definitions(gg, n):
                _add(variants, nl + pw.labels, dict(pw.values))
    variants.sort(key=lambda v: len(v.labels))
    return variants


def _add(variants: list[Variant], labels: tuple[str, ...], values: dict[str, Value]) -> None:
    text = "; and ".join(_sentence(label) for label in labels)
    variants.append(Variant("+".join(labels), text, values, labels))


def _safe(
    fn: Callable[[Sequence[float], Sequence[float]], dict[str, float]],
    g: Sequence[float],
    n: Sequence[float],
) -> dict[str, float]:
    try:
        return fn(g, n)
    except (NumericalOverflow, OverflowError):
        return {}


def global_gradient(x0: Sequence[float], y0: float) -> list[float]:
    """The gradient at the notebook's global point (row 0, w = [0.1]*9)."""
    return list(backward(forward(x0, y0, GLOBAL_W)))


# ---- per-weight comparisons --------------------------------------------------------------------

PER_WEIGHT = {
    "gc_elementwise_ratio": "elementwise (g - n)/(g + n)",
    "gc_abs_ratio": "elementwise |g - n|/(|g| + |n|)",
    "gc_raw_difference": "the raw per-weight difference n - g (or g - n)",
}


def per_weight_definitions(g: Sequence[float], n: Sequence[float]) -> list[Variant]:
    """What a per-weight output can be: each elementwise comparison students compute, as numbers,
    and as booleans (np.isclose, or a ratio under a threshold)."""
    pairs = list(zip(g, n, strict=True))

    def each(f: Callable[[float, float], float]) -> list[float] | None:
        try:
            return [f(gi, ni) for gi, ni in pairs]
        except ZeroDivisionError:
            return None

    numbers: list[tuple[tuple[str, ...], list[float] | None]] = [
        (("gc_elementwise_ratio",), each(lambda a, b: (a - b) / (a + b))),
        (("gc_elementwise_ratio",), each(lambda a, b: (b - a) / (b + a))),
        (("gc_abs_ratio",), each(lambda a, b: abs(a - b) / (abs(a) + abs(b)))),
        (("gc_raw_difference",), each(lambda a, b: b - a)),
        (("gc_raw_difference",), each(lambda a, b: a - b)),
    ]
    out = [Variant("+".join(k), "", {"per_weight": v}, k) for k, v in numbers if v is not None]
    isclose = [float(abs(a - b) <= 1e-8 + 1e-5 * abs(b)) for a, b in pairs]
    out.append(Variant("gc_thresholded", "", {"per_weight": isclose}, ("gc_thresholded",)))
    for labels, v in numbers[2:3] + numbers[:1]:
        for threshold in THRESHOLDS:
            if v is not None:
                flags = [float(abs(r) < threshold) for r in v]
                keys = (*labels, "gc_thresholded")
                out.append(Variant("+".join(keys), "", {"per_weight": flags}, keys))
    return out


THRESHOLDS = (1e-7, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-9)  # what students compare ratios with
