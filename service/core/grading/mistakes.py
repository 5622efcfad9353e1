"""The common wrong versions of the forward pass, the backward pass and the gradient check.

Each wrong version is recomputed from the same case, starting from the graph's own stages
(``graph.forward``'s cache and ``graph.adjoints``, whose local derivatives and upstream gradients
can be replaced) and changing one thing, so a
submission can be matched to the mistake that produced it. The last ones of each list are
"follow-through" versions: the right formula applied to the student's own upstream values, which
says the item itself is right and the mistake is earlier. (Over 250 lines: the catalogue of
mistakes, one Variant each, for three tasks.)

Tested by tests/core/grading/test_policy.py and api_tests/test_grading.py (wrong code paths graded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from service.core.errors import NumericalOverflow
from service.core.gradcheck import norm_ratio, relative_difference
from service.core.grading.policy import Value, Variant
from service.core.graph import GRADIENT_NAMES, Cache, adjoints, forward, loss

Submitted = Mapping[str, Value | None]


def _forward_without(x: Sequence[float], y: float, w: Sequence[float], i: int) -> dict[str, Value]:
    """The forward values with weight i left out (set to 0), or none when that overflows."""
    try:
        return dict(forward(x, y, [0.0 if j == i else wj for j, wj in enumerate(w)]).values())
    except NumericalOverflow:
        return {}


def _output_stage(y: float, y_pred: float) -> dict[str, Value]:
    """loss and dy_pred from a y_pred."""
    return {"y_pred": y_pred, "loss": (y - y_pred) ** 2, "dy_pred": -2.0 * (y - y_pred)}


def forward_variants(c: Cache, submitted: Submitted) -> list[Variant]:
    """Wrong versions of the forward pass at the cached point."""
    x, y, w = c.x, c.y, c.w
    variants = [
        Variant(
            "dy_pred_sign_flipped",
            "dy_pred with its sign flipped: 2*(y - y_pred), but dL/dy_pred = -2*(y - y_pred)",
            {"dy_pred": -c.dy_pred},
        ),
        Variant(
            "loss_not_squared",
            "the loss not squared: y - y_pred, but the loss is (y - y_pred)^2",
            {"loss": y - c.y_pred},
        ),
        Variant(
            "loss_not_squared",
            "the loss not squared: y_pred - y, but the loss is (y - y_pred)^2",
            {"loss": c.y_pred - y},
        ),
        Variant(
            "loss_not_squared",
            "the loss not squared: |y - y_pred|, but the loss is (y - y_pred)^2",
            {"loss": abs(y - c.y_pred)},
        ),
        Variant(
            "w7_left_out",
            "the graph with w7 left out: tanh(exp), but part 2 is tanh(exp + w7)",
            _forward_without(x, y, w, 6),
        ),
        Variant(
            "w6_left_out",
            "the graph with w6 left out: e^(a*a), but part 1 is e^(a*a + w6)",
            _forward_without(x, y, w, 5),
        ),
        Variant(
            "w9_on_tanh",
            "w9 applied to tanh instead of sigmoid: w9*tanh + sigmoid, but y_pred = tanh + "
            "w9*sigmoid",
            _output_stage(y, w[8] * c.tanh + c.sigmoid),
        ),
    ]
    s = _numbers(submitted)
    if "tanh" in s and "sigmoid" in s:
        own: dict[str, Value] = {"y_pred": s["tanh"] + w[8] * s["sigmoid"]}
        variants.append(_follows("your own tanh and sigmoid", own))
    if "y_pred" in s:
        stage = _output_stage(y, s["y_pred"])
        variants.append(_follows("your own y_pred", {k: stage[k] for k in ("loss", "dy_pred")}))
    if "exp" in s:
        variants.append(_follows("your own exp", {"tanh": math.tanh(s["exp"] + w[6])}))
    return variants


def _numbers(submitted: Submitted) -> dict[str, float]:
    return {k: float(v) for k, v in submitted.items() if isinstance(v, float | int)}


def _follows(source: str, values: Mapping[str, Value]) -> Variant:
    return Variant(
        "follows_from_upstream",
        f"the right formula applied to {source}, so the mistake is upstream: fix that first",
        values,
    )


def _named(weights: Sequence[float], names: Sequence[str]) -> dict[str, float]:
    """Some of dw1..dw9 from a tuple of nine."""
    return {name: weights[GRADIENT_NAMES.index(name)] for name in names}


TANH_BRANCH = ("dw7", "dw6", "dw1", "dw2")
SIGMOID_BRANCH = ("dw8", "dw3", "dw4", "dw5")


def backward_variants(c: Cache, submitted: Submitted) -> list[Variant]:
    """Wrong versions of the backward pass at the cached point, from graph.adjoints' stages."""
    right = adjoints(c)
    g = dict(zip(GRADIENT_NAMES, right.weights, strict=True))
    f3, f4, f5 = c.x[2], c.x[3], c.x[4]

    def wrong_local(site: str, value: float, names: Sequence[str]) -> dict[str, float]:
        return _named(adjoints(c, local={site: value}).weights, names)

    variants = [
        Variant(
            "dw3_sin_for_cos",
            "sin(w3*f3) in dw3 where its derivative cos(w3*f3)*f3 belongs",
            {"dw3": right.sin * c.sin},
        ),
        Variant(
            "dw3_missing_f3",
            "dw3 without the factor f3: d/dw3 sin(w3*f3) = cos(w3*f3)*f3",
            {"dw3": right.sin * math.cos(c.w[2] * f3)},
        ),
        Variant(
            "square_missing_2",
            "the derivative of a*a taken as a instead of 2*a (the factor 2 is missing)",
            wrong_local("square", c.a, ("dw1", "dw2")),
        ),
        Variant(
            "tanh_derivative_one_minus_tanh",
            "tanh's derivative taken as 1 - tanh, but it is 1 - tanh^2",
            wrong_local("tanh", 1.0 - c.tanh, TANH_BRANCH),
        ),
        Variant(
            "tanh_derivative_like_sigmoid",
            "tanh's derivative taken as tanh*(1 - tanh) (that is sigmoid's form), but it is "
            "1 - tanh^2",
            wrong_local("tanh", c.tanh * (1.0 - c.tanh), TANH_BRANCH),
        ),
        Variant(
            "sigmoid_derivative_sigmoid",
            "sigmoid's derivative taken as sigmoid alone, but it is sigmoid*(1 - sigmoid)",
            wrong_local("sigmoid", c.sigmoid, SIGMOID_BRANCH),
        ),
        Variant(
            "w9_missing",
            "the sigmoid branch without w9: y_pred = tanh + w9*sigmoid, so dL/dsigmoid = "
            "dy_pred*w9",
            wrong_local("w9", 1.0, SIGMOID_BRANCH),
        ),
        Variant(
            "sign_flipped",
            "the gradient with its sign flipped (check the sign of dy_pred = -2*(y - y_pred))",
            {name: -value for name, value in g.items()},
        ),
        Variant(
            "f4_f5_swapped",
            "f4 and f5 swapped: q = w4*f4 + w5*f5, so dw4 carries f4 and dw5 carries f5",
            {"dw4": right.q * f5, "dw5": right.q * f4},
        ),
    ]
    s = _numbers(submitted)
    # The right formula applied to the student's own upstream gradient: dw7 is dL/d(exp + w7),
    # dw6 is dL/d(a*a + w6), dw8 is dL/d(sin*q + w8).
    for own, stage, below in (
        ("dw7", "tanh_in", ("dw6", "dw1", "dw2")),
        ("dw6", "exp_in", ("dw1", "dw2")),
        ("dw8", "sigmoid_in", ("dw3", "dw4", "dw5")),
    ):
        if own in s:
            mine = _named(adjoints(c, given={stage: s[own]}).weights, below)
            variants.append(_follows(f"your own {own}", mine))
    return variants


def numerical_items(n: Sequence[float]) -> dict[str, Value]:
    """Per-weight numerical derivatives keyed as gradcheck items: numerical.w1 .. numerical.w9."""
    return {f"numerical.w{i + 1}": v for i, v in enumerate(n)}


def _one_sided(
    x: Sequence[float], y: float, w: Sequence[float], eps: float, sign: float
) -> list[float]:
    base = loss(x, y, w)
    out = []
    for i in range(len(w)):
        moved = list(w)
        moved[i] += sign * eps
        out.append(sign * (loss(x, y, moved) - base) / eps)
    return out


def gradcheck_variants(
    x: Sequence[float],
    y: float,
    w: Sequence[float],
    eps: float,
    g: Sequence[float],
    n: Sequence[float],
) -> list[Variant]:
    """Wrong versions of the gradient check of gradient g, whose right numerical gradient is n."""
    variants: list[Variant] = []
    try:
        plus, minus = [wi + eps for wi in w], [wi - eps for wi in w]
        at_once = (loss(x, y, plus) - loss(x, y, minus)) / (2.0 * eps)
        norm_g = math.hypot(*g)
        spread = math.hypot(*(gi - at_once for gi in g))
        for norm_n in (abs(at_once), 3.0 * abs(at_once)):  # a scalar n, or n broadcast to 9 entries
            difference = norm_ratio(spread, norm_g + norm_n)
            variants.append(
                Variant(
                    "all_weights_perturbed_at_once",
                    "all nine weights perturbed at once, which gives one number (a directional "
                    "derivative); perturb one weight at a time, the others held fixed",
                    {**numerical_items([at_once] * 9), "difference": difference},
                )
            )
        for sign, side in ((1.0, "(L(w + eps) - L(w)) / eps"), (-1.0, "(L(w) - L(w - eps)) / eps")):
            one = _one_sided(x, y, w, eps, sign)
            variants.append(
                Variant(
                    "one_sided_difference",
                    f"a one-sided difference {side}; the check uses the central difference "
                    "(L(w + eps) - L(w - eps)) / (2*eps)",
                    {**numerical_items(one), "difference": relative_difference(g, one)},
                )
            )
    except NumericalOverflow:
        pass
    doubled = [2.0 * v for v in n]
    variants.append(
        Variant(
            "divided_by_eps",
            "the central difference divided by eps instead of 2*eps",
            {**numerical_items(doubled), "difference": relative_difference(g, doubled)},
        )
    )
    if all(gi + ni != 0.0 for gi, ni in zip(g, n, strict=True)):
        ratios = [(gi - ni) / (gi + ni) for gi, ni in zip(g, n, strict=True)]
        reductions = {
            "their mean": math.fsum(ratios) / len(ratios),
            "the mean of their absolute values": math.fsum(map(abs, ratios)) / len(ratios),
            "their largest absolute value": max(map(abs, ratios)),
            "their sum": math.fsum(ratios),
            "their norm": math.hypot(*ratios),
        }
        for how, value in reductions.items():
            variants.append(
                Variant(
                    "elementwise_ratio",
                    f"the elementwise ratios (g - n)/(g + n), reduced to {how}; the difference "
                    "uses norms: ||g - n|| / (||g|| + ||n||)",
                    {"difference": value},
                )
            )
    return variants
