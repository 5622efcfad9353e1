"""Grading a submission: comparison policies, per-item results, the score, and feedback in words.

A task has named items (forward: ``exp`` .. ``dy_pred``; backward: ``dw1`` .. ``dw9``; gradcheck:
``difference`` and ``numerical.w1`` .. ``numerical.w9``; train: ``loss_history`` and
``final_weights``). Each item is a float or a list of floats, compared with one policy, and is worth
its points when it passes (no partial credit inside an item). When an item fails, the wrong versions
of the computation (``Variant``, built in ``mistakes`` and ``train_mistakes``) are compared with
it too, to say *why*.
Expected values appear in a result only when revealed; otherwise the error is given only as a power
of ten, so the expected value cannot be recovered from submitted value and error. (Over 250
lines: a policy, an item's verdict and its feedback in words belong together.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

Value = float | list[float]

DIAGNOSIS_RTOL = 1e-6  # a submission this close to a wrong version is taken to be that version


@dataclass(frozen=True)
class Policy:
    """How a submitted number is compared with the expected one."""

    kind: str  # "exact" | "decimals" | "relabs"
    decimals: int = 6
    rtol: float = 0.0
    atol: float = 0.0

    def accepts(self, submitted: float, expected: float) -> bool:
        """Whether the submitted number counts as the expected one."""
        if self.kind == "exact":
            return submitted == expected
        if self.kind == "decimals":
            return round(submitted, self.decimals) == round(expected, self.decimals)
        error = abs(submitted - expected)
        return error <= self.atol or error <= self.rtol * abs(expected)

    def rule(self) -> str:
        """The rule in words, as feedback shows it."""
        if self.kind == "exact":
            return "exact: submitted == expected"
        if self.kind == "decimals":
            d = self.decimals
            return f"decimals: round(submitted, {d}) == round(expected, {d})"
        return f"relabs: |submitted - expected| <= max({self.rtol:g} * |expected|, {self.atol:g})"


# The course's checks: forward with ==, backward rounded to 6 decimals. Gradient checking and
# training are compared within tolerances: atol 1e-8 is above the rounding noise of a central
# difference at eps 1e-7 (about 1e-9 per entry at the course's points) and below the verdict's pass
# threshold 1e-7; rtol 1e-6 on a training run is far above the 1e-14 a float64 loop written another
# way drifts by in 20 epochs, and far below what any wrong training loop changes.
DEFAULT_POLICIES = {
    "forward": Policy("exact"),
    "backward": Policy("decimals", decimals=6),
    "gradcheck": Policy("relabs", rtol=1e-6, atol=1e-8),
    "train": Policy("relabs", rtol=1e-6, atol=1e-10),
}


@dataclass(frozen=True)
class Variant:
    """A common wrong version of the computation, what it is in words, and the values it gives."""

    id: str
    explanation: str
    values: Mapping[str, Value]


@dataclass(frozen=True)
class ItemResult:
    """The verdict on one item."""

    name: str
    passed: bool
    points: float
    max_points: float
    submitted: Value | None
    expected: Value | None
    error: float | None
    rule: str
    diagnosis: str | None
    first_mismatch: int | None
    message: str


@dataclass(frozen=True)
class Grade:
    """A graded submission: its items, the score, and the policy used."""

    task: str
    policy: Policy
    items: tuple[ItemResult, ...]

    @property
    def score(self) -> float:
        """Points earned."""
        return math.fsum(item.points for item in self.items)

    @property
    def max_score(self) -> float:
        """Points available."""
        return math.fsum(item.max_points for item in self.items)

    @property
    def passed(self) -> bool:
        """Whether every item passed."""
        return all(item.passed for item in self.items)


def _listify(value: Value) -> list[float]:
    return value if isinstance(value, list) else [value]


def first_mismatch(policy: Policy, submitted: Value, expected: Value) -> int | None:
    """1-based position of the first entry outside the policy (or past the shorter list)."""
    s, e = _listify(submitted), _listify(expected)
    for i, (si, ei) in enumerate(zip(s, e, strict=False)):
        if not policy.accepts(si, ei):
            return i + 1
    return None if len(s) == len(e) else min(len(s), len(e)) + 1


def absolute_error(submitted: Value, expected: Value) -> float:
    """Largest |submitted - expected| over the entries both have (capped at the largest float)."""
    pairs = zip(_listify(submitted), _listify(expected), strict=False)
    return min(max((abs(s - e) for s, e in pairs), default=0.0), sys.float_info.max)


def magnitude(error: float) -> float:
    """The power of ten at or below a positive error: what feedback shows when values are hidden."""
    return 0.0 if error == 0.0 else 10.0 ** math.floor(math.log10(error))


def _close(policy: Policy, submitted: Value, variant: Value) -> bool:
    s, v = _listify(submitted), _listify(variant)
    return len(s) == len(v) and all(
        policy.accepts(si, vi) or abs(si - vi) <= DIAGNOSIS_RTOL * abs(vi)
        for si, vi in zip(s, v, strict=True)
    )


def diagnose(
    policy: Policy, name: str, submitted: Value, expected: Value, variants: Sequence[Variant]
) -> Variant | None:
    """The first wrong version the submission matches and the policy tells apart from the answer."""
    for variant in variants:
        wrong = variant.values.get(name)
        if wrong is None or first_mismatch(policy, wrong, expected) is None:
            continue
        if _close(policy, submitted, wrong):
            return variant
    return None


def _where(name: str, submitted: Value, expected: list[float], position: int) -> str:
    unit = "epoch" if name == "loss_history" else "entry"
    where = f" It first leaves tolerance at {unit} {position} of {len(expected)}."
    if len(_listify(submitted)) != len(expected):
        where += f" It has {len(_listify(submitted))} entries; {len(expected)} are expected."
    return where


def grade_item(
    name: str,
    submitted: Value | None,
    expected: Value,
    policy: Policy,
    max_points: float,
    variants: Sequence[Variant],
    reveal: bool,
) -> ItemResult:
    """Compare one item, and when it fails, say which wrong version it matches."""
    result = ItemResult(
        name=name,
        passed=False,
        points=0.0,
        max_points=max_points,
        submitted=submitted,
        expected=expected if reveal else None,
        error=None,
        rule=policy.rule(),
        diagnosis=None,
        first_mismatch=None,
        message=f"{name} is missing from the submission, so it scores 0.",
    )
    if submitted is None:
        return result
    error = absolute_error(submitted, expected)
    result = replace(result, error=error if reveal else magnitude(error))
    tail = f" Expected {expected!r}." if reveal else ""
    position = first_mismatch(policy, submitted, expected)
    if position is None:
        message = f"{name} is correct ({policy.rule()}).{tail}"
        return replace(result, passed=True, points=max_points, message=message)
    variant = diagnose(policy, name, submitted, expected, variants)
    if variant is not None:
        message = f"{name} is wrong: it matches {variant.explanation}."
    else:
        message = (
            f"{name} is wrong: off by about {magnitude(error):.0e}, and it matches none of the "
            "common mistakes we check for."
        )
    if isinstance(expected, list):
        message += _where(name, submitted, expected, position)
        result = replace(result, first_mismatch=position)
    return replace(
        result,
        diagnosis=None if variant is None else variant.id,
        message=message + tail,
    )


def grade(
    task: str,
    expected: Mapping[str, Value],
    submitted: Mapping[str, Value | None],
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    variants: Sequence[Variant] = (),
    reveal: bool = False,
) -> Grade:
    """Grade every expected item: 1 point each and the task's course policy unless given."""
    policy = policy or DEFAULT_POLICIES[task]
    weight = (points or {}).get
    items = tuple(
        grade_item(name, submitted.get(name), value, policy, weight(name, 1.0), variants, reveal)
        for name, value in expected.items()
    )
    return Grade(task, policy, items)


def resolve_policy(
    task: str,
    kind: str | None = None,
    decimals: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> Policy:
    """A policy from what was given: the task's course default, with given fields replaced.

    Another kind than the default's takes decimals 6, or rtol 1e-9 and atol 0, unless given.
    """
    default = DEFAULT_POLICIES[task]
    if kind is not None and kind != default.kind:
        default = Policy(kind, decimals=6, rtol=1e-9, atol=0.0)
    return Policy(
        default.kind,
        decimals=default.decimals if decimals is None else decimals,
        rtol=default.rtol if rtol is None else rtol,
        atol=default.atol if atol is None else atol,
    )
