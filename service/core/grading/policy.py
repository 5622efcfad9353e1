"""Grading a submission: comparison policies, per-item results, the score, and feedback in words.

A task has named items (forward: ``exp`` .. ``dy_pred``; backward: ``dw1`` .. ``dw9``; gradcheck:
``difference``, ``numerical`` and ``per_weight``; train: ``loss_history`` and ``final_weights``).
Each item is a float or a list of floats, compared with one policy, and is worth its points when it
passes (no partial credit inside an item). When an item fails, the wrong versions of the
computation (``Variant``, built by the search in ``mistakes`` and ``train_mistakes``) are compared
with the whole submission, the simplest first, to say *why*.

What feedback reveals (``FEEDBACK``): ``verdict``: per item, passed or failed, nothing else;
``diagnosis`` (the default): the verdict, and the wrong version the submission matches, if one
does. Neither gives a magnitude or a direction of the error, nor where in a list it starts: two
wrong submissions of an item that match no diagnosis get the same answer apart from the echo of
what was submitted. A diagnosis says the submission equals a wrong version within
``DIAGNOSIS_RTOL`` (a fixed band around a wrong value, never a distance to the answer). Only
``reveal`` (reveal_expected) adds the expected value, the error and the first entry off.
(Over 250 lines: a policy, an item's verdict and its feedback in words belong together.)
"""

from __future__ import annotations

import bisect
import math
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

Value = float | list[float]
FEEDBACK = ("verdict", "diagnosis")

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


# Defaults: a relative tolerance wherever correct code may differ in the last bits. The course
# compares forward values with == and gradients at 6 decimals, but a faithful float64
# implementation (np.tanh for math.tanh, another association of the same products, np.mean's
# pairwise sum) is a few ulps (~1e-16 relative) off; rtol 1e-10 accepts that with a wide margin and
# rejects every wrong formula we know (they change values by 1e-7 relative or far more); atol 1e-13
# covers values that are exactly 0 (the loss at the weights y was made with). Gradient checking:
# atol 1e-8 is above the rounding noise of a central difference at eps 1e-7 (about 1e-9 per
# entry) and below the verdict's pass threshold 1e-7. Training: rtol 1e-9 is far above the 1e-14 a
# loop written another way drifts by in 20 epochs. "exact" and "decimals" stay available.
DEFAULT_POLICIES = {
    "forward": Policy("relabs", rtol=1e-10, atol=1e-13),
    "backward": Policy("relabs", rtol=1e-10, atol=1e-13),
    "gradcheck": Policy("relabs", rtol=1e-6, atol=1e-8),
    "train": Policy("relabs", rtol=1e-9, atol=1e-12),
}


@dataclass(frozen=True)
class Variant:
    """A common wrong version of the computation, what it is in words, and the values it gives."""

    id: str
    explanation: str
    values: Mapping[str, Value]
    labels: tuple[str, ...] = ()  # the catalogue labels of its mutations (default: the id)

    @property
    def names(self) -> tuple[str, ...]:
        """Its catalogue labels."""
        return self.labels or (self.id,)


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
    labels: tuple[str, ...] = ()


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
    """1-based position of the first entry outside the policy (or past the expected length)."""
    if type(submitted) is float and type(expected) is float:  # the common case, without lists
        return None if policy.accepts(submitted, expected) else 1
    s, e = _listify(submitted), _listify(expected)
    for i, (si, ei) in enumerate(zip(s, e, strict=False)):
        if not policy.accepts(si, ei):
            return i + 1
    # A shorter list is graded on the entries given (a loss history of fewer epochs); a longer
    # one fails past the expected length.
    return None if len(s) <= len(e) else len(e) + 1


def absolute_error(submitted: Value, expected: Value) -> float:
    """Largest |submitted - expected| over the entries both have (capped at the largest float)."""
    pairs = zip(_listify(submitted), _listify(expected), strict=False)
    return min(max((abs(s - e) for s, e in pairs), default=0.0), sys.float_info.max)


def _close(policy: Policy, submitted: Value, variant: Value, strict: bool = False) -> bool:
    """Whether a submission equals a wrong version: within the policy or DIAGNOSIS_RTOL of it.

    A loss history may be a prefix of the variant's (graded on what is given).
    """
    s, v = _listify(submitted), _listify(variant)
    if len(s) > len(v) or (len(s) < len(v) and not isinstance(variant, list)) or not s:
        return False
    return all(_near(policy, si, vi, strict) for si, vi in zip(s, v, strict=False))


def _near(policy: Policy, s: float, v: float, strict: bool = False) -> bool:
    """s is the wrong value v: within DIAGNOSIS_RTOL or the policy's rtol of it, or within the
    policy's atol when v is not itself below that noise floor (then an absolute band would match
    any small number)."""
    gap = abs(s - v)
    if gap <= max(DIAGNOSIS_RTOL, policy.rtol) * abs(v):
        return True
    if strict:
        return False
    if policy.kind != "relabs":
        return policy.accepts(s, v)
    return gap <= policy.atol <= abs(v)


def explain(
    policy: Policy,
    submitted: Mapping[str, Value],
    expected: Mapping[str, Value],
    failed: Sequence[str],
    variants: Sequence[Variant],
) -> Variant | None:
    """The simplest wrong version that matches the whole submission and is told apart from the
    answer on a failed item (variants come simplest first): first one matching within the
    relative band, else one matching within the policy's absolute band too."""
    for strict in (True, False):
        for variant in variants:
            if not all(
                _close(policy, value, variant.values.get(name, expected[name]), strict)
                for name, value in submitted.items()
            ):
                continue
            if any(
                name in variant.values
                and first_mismatch(policy, variant.values[name], expected[name])
                for name in failed
            ):
                return variant
    return None


def diagnose_items(
    policy: Policy,
    submitted: Mapping[str, Value],
    expected: Mapping[str, Value],
    failed: Sequence[str],
    variants: Sequence[Variant],
) -> dict[str, Variant]:
    """A diagnosis per failed item: the whole submission's explanation, else the simplest wrong
    version that matches that item alone."""
    if policy.kind == "relabs" and all(isinstance(v, float | int) for v in submitted.values()):
        return _diagnose_sorted(policy, submitted, expected, failed, variants)
    whole = explain(policy, submitted, expected, failed, variants)
    if whole is not None:
        return dict.fromkeys(failed, whole)
    out: dict[str, Variant] = {}
    for name in failed:
        for variant in variants:
            wrong = variant.values.get(name)
            if wrong is None or first_mismatch(policy, wrong, expected[name]) is None:
                continue
            if _close(policy, submitted[name], wrong):
                out[name] = variant
                break
    return out


_TABLES: OrderedDict[tuple[int, tuple[str, ...]], tuple[object, Any, Any]] = OrderedDict()


def _table(
    variants: Sequence[Variant], names: tuple[str, ...], expected: Mapping[str, Value]
) -> tuple[Any, Any] | None:
    """The variants' values of the named scalar items as a matrix (a missing one: the answer's),
    and which they have; memoized per variants object (the searches memoize theirs per point)."""
    key = (id(variants), names)
    if key in _TABLES and _TABLES[key][0] is variants:
        return _TABLES[key][1], _TABLES[key][2]
    found = _full_table(variants, names)
    if found is not None:
        table, present = found
    else:
        try:
            rows = [[float(v.values.get(n, expected[n])) for n in names] for v in variants]  # type: ignore[arg-type]
        except TypeError:
            return None
        table = np.array(rows, dtype=np.float64).reshape(len(variants), len(names))
        present = np.array([[n in v.values for n in names] for v in variants], dtype=bool)
    _TABLES[key] = (variants, table, present.reshape(table.shape))
    while len(_TABLES) > 64:
        _TABLES.popitem(last=False)
    return table, present


def _full_table(variants: Sequence[Variant], names: tuple[str, ...]) -> tuple[Any, Any] | None:
    """The table when every variant has a finite number for every name (a backward search's
    do), read in one step per variant; None otherwise."""
    if not names:
        return None
    get = itemgetter(*names)
    try:
        rows = [get(v.values) for v in variants]
        table = np.array(rows, dtype=np.float64).reshape(len(variants), len(names))
    except (KeyError, TypeError, ValueError):
        return None
    if not np.isfinite(table).all():  # (None reads as NaN here): the item-by-item reading decides
        return None
    return table, np.ones(table.shape, dtype=bool)


_INDEXES: OrderedDict[tuple[int, tuple[str, ...]], tuple[object, Any]] = OrderedDict()


@dataclass(frozen=True)
class _Index:
    """A variants table for look-ups: its rows as Python lists, and each column sorted."""

    rows: list[list[float]]
    present: list[list[bool]]
    columns: list[tuple[list[float], list[int]]]  # per item: sorted values, their row indices
    finite: bool = True  # every value finite (else the vectorized comparison decides)


def _index(variants: Sequence[Variant], names: tuple[str, ...], table: Any, present: Any) -> (
    _Index
):  # fmt: skip
    key = (id(variants), names)
    if key in _INDEXES and _INDEXES[key][0] is variants:
        found: _Index = _INDEXES[key][1]
        return found
    columns = []
    for j in range(table.shape[1]):
        order = np.argsort(table[:, j], kind="stable")
        columns.append((table[order, j].tolist(), order.tolist()))
    index = _Index(table.tolist(), present.tolist(), columns, bool(np.isfinite(table).all()))
    _INDEXES[key] = (variants, index)
    while len(_INDEXES) > 64:
        _INDEXES.popitem(last=False)
    return index


def _diagnose_sorted(
    policy: Policy,
    submitted: Mapping[str, Value],
    expected: Mapping[str, Value],
    failed: Sequence[str],
    variants: Sequence[Variant],
) -> dict[str, Variant]:
    """_diagnose_numbers by look-up: the variants whose value of one item lies within the band
    of the submitted one are found by bisection in that item's sorted column (memoized per
    variants table), and only those are checked. Same answers; a few microseconds a submission
    however many variants there are (a batch of 1,000 students to one case searches once)."""
    names = tuple(submitted)
    found = _table(variants, names, expected) if variants else None
    band = max(DIAGNOSIS_RTOL, policy.rtol)
    index = _index(variants, names, *found) if found is not None else None
    if index is None or band >= 0.5 or not index.finite:
        return _diagnose_numbers(policy, submitted, expected, failed, variants)
    atol, rtol = policy.atol, policy.rtol
    s = [float(submitted[n]) for n in names]  # type: ignore[arg-type]
    e = [float(expected[n]) for n in names]  # type: ignore[arg-type]
    columns = [names.index(n) for n in failed]

    def near(i: int, j: int, strict: bool) -> bool:
        v = index.rows[i][j]
        gap = abs(s[j] - v)
        return gap <= band * abs(v) or (not strict and gap <= atol and abs(v) >= atol)

    def differs(i: int, j: int) -> bool:
        off = abs(index.rows[i][j] - e[j])
        return index.present[i][j] and not (off <= atol or off <= rtol * abs(e[j]))

    def window(j: int) -> list[int]:
        d = max(band * abs(s[j]) / (1.0 - band), atol) * (1.0 + 1e-9) + 1e-300
        values, order = index.columns[j]
        lo, hi = bisect.bisect_left(values, s[j] - d), bisect.bisect_right(values, s[j] + d)
        return sorted(order[lo:hi])

    first = window(columns[0])
    for strict in (True, False):
        for i in first:
            if all(near(i, j, strict) for j in range(len(names))) and any(
                differs(i, j) for j in columns
            ):
                return dict.fromkeys(failed, variants[i])
    out: dict[str, Variant] = {}
    for name, j in zip(failed, columns, strict=True):
        for i in first if j == columns[0] else window(j):
            if near(i, j, False) and differs(i, j):
                out[name] = variants[i]
                break
    return out


def _diagnose_numbers(
    policy: Policy,
    submitted: Mapping[str, Value],
    expected: Mapping[str, Value],
    failed: Sequence[str],
    variants: Sequence[Variant],
) -> dict[str, Variant]:
    """diagnose_items for scalar items under a relabs policy, vectorized over the variants."""
    names = tuple(submitted)
    found = _table(variants, names, expected) if variants else None
    if found is None:
        return {}
    table, present = found
    s = np.array([float(submitted[n]) for n in names])  # type: ignore[arg-type]
    e = np.array([float(expected[n]) for n in names])  # type: ignore[arg-type]
    with np.errstate(invalid="ignore", over="ignore"):
        gap, size = np.abs(s - table), np.abs(table)
        strict = gap <= max(DIAGNOSIS_RTOL, policy.rtol) * size
        close = strict | ((gap <= policy.atol) & (size >= policy.atol))
        off = np.abs(table - e)
        differs = present & ~((off <= policy.atol) | (off <= policy.rtol * np.abs(e)))
    columns = [names.index(n) for n in failed]
    for band in (strict, close):
        whole = band.all(axis=1) & differs[:, columns].any(axis=1)
        if whole.any():
            return dict.fromkeys(failed, variants[int(np.argmax(whole))])
    out: dict[str, Variant] = {}
    for name, j in zip(failed, columns, strict=True):
        alone = close[:, j] & differs[:, j]
        if alone.any():
            out[name] = variants[int(np.argmax(alone))]
    return out


def grade_item(
    name: str,
    submitted: Value | None,
    expected: Value,
    policy: Policy,
    max_points: float,
    variant: Variant | None,
    reveal: bool,
    feedback: str = "diagnosis",
    rule: str | None = None,
    position: int | None = -1,
) -> ItemResult:
    """The verdict on one item, with its diagnosis (a wrong version it matches) when it fails.

    ``position``: first_mismatch's answer when the caller has it (-1: compute it)."""
    rule = rule or policy.rule()
    shown = expected if reveal else None
    if submitted is None:
        message = f"{name} is missing from the submission, so it scores 0."
        return ItemResult(
            name, False, 0.0, max_points, None, shown, None, rule, None, None, message
        )
    error = absolute_error(submitted, expected) if reveal else None
    tail = f" Expected {expected!r}." if reveal else ""
    if position == -1:
        position = first_mismatch(policy, submitted, expected)
    if position is None:
        message = f"{name} is correct ({rule}).{tail}"
        return ItemResult(
            name, True, max_points, max_points, submitted, shown, error, rule, None, None, message
        )
    diagnosis: str | None = None
    labels: tuple[str, ...] = ()
    where: int | None = None
    if feedback == "verdict":
        message = f"{name} is wrong."
    elif variant is not None:
        message = f"{name} is wrong: it matches {variant.explanation}."
        diagnosis, labels = variant.id, variant.names
    else:
        message = f"{name} is wrong, and it matches none of the common mistakes we check for."
    if feedback != "verdict" and isinstance(expected, list):
        if len(_listify(submitted)) != len(expected):
            message += f" It has {len(_listify(submitted))} entries; {len(expected)} are expected."
        if reveal:
            unit = "epoch" if name == "loss_history" else "entry"
            message += f" It first leaves tolerance at {unit} {position} of {len(expected)}."
            where = position
    return ItemResult(
        name, False, 0.0, max_points, submitted, shown, error, rule, diagnosis, where,
        message + tail, labels,
    )  # fmt: skip


def grade(
    task: str,
    expected: Mapping[str, Value],
    submitted: Mapping[str, Value | None],
    policy: Policy | None = None,
    points: Mapping[str, float] | None = None,
    variants: Sequence[Variant] | Callable[[], Sequence[Variant]] = (),
    reveal: bool = False,
    feedback: str = "diagnosis",
    follows: Callable[[Mapping[str, Value]], Sequence[Variant]] | None = None,
) -> Grade:
    """Grade every expected item: 1 point each and the task's default policy unless given.

    ``follows`` gives, from the submission, the right formulas applied to the student's own
    upstream values: tried on the failed items no wrong version explains.

    ``variants`` may be a function, called only when an item fails (the search costs time).
    """
    policy = policy or DEFAULT_POLICIES[task]
    weight = (points or {}).get
    given = {k: v for k, v in submitted.items() if v is not None and k in expected}
    known: dict[str, ItemResult] = {}  # right items seen before (a class's right values)
    positions: dict[str, int | None] = {}
    rule = policy.rule()
    right = _remembered(policy, rule, reveal, feedback)
    for k, v in given.items():
        e = expected[k]
        key = _right_key(k, v, e, weight(k, 1.0))
        found = right.get(key) if key is not None else None
        if found is not None:
            known[k] = found
            positions[k] = None
        else:
            positions[k] = first_mismatch(policy, v, e)
    failed = [k for k, where in positions.items() if where is not None]
    diagnoses: dict[str, Variant] = {}
    if failed and feedback != "verdict":
        found_variants = variants() if callable(variants) else variants
        diagnoses = diagnose_items(policy, given, expected, failed, found_variants)
        left = [name for name in failed if name not in diagnoses]
        if left and follows is not None:  # item by item: right given the student's own inputs
            upstream = follows(given)
            for name in left:
                for variant in upstream:
                    wrong = variant.values.get(name)
                    if wrong is not None and _close(policy, given[name], wrong, strict=True):
                        diagnoses[name] = variant
                        break
    items = []
    for name, value in expected.items():
        if name in known:
            items.append(known[name])
            continue
        given_value = submitted.get(name)
        result = grade_item(
            name,
            given_value,
            value,
            policy,
            weight(name, 1.0),
            diagnoses.get(name),
            reveal,
            feedback,
            rule,
            positions.get(name, -1),
        )
        if result.passed:
            key = _right_key(name, given_value, value, weight(name, 1.0))
            if key is not None:
                right[key] = result
        items.append(result)
    return Grade(task, policy, tuple(items))


# A passed item's verdict, by what decides it: the policy, its rule in words (a tolerance of
# -0.0 is 0.0's policy, not its rule), reveal and feedback; then the item, the values, its points.
_RIGHT: dict[tuple[Policy, str, bool, str], dict[tuple[Any, ...], ItemResult]] = {}


def _remembered(
    policy: Policy, rule: str, reveal: bool, feedback: str
) -> dict[tuple[Any, ...], ItemResult]:
    """The passed verdicts under these options (bounded: cleared when full)."""
    options = (policy, rule, reveal, feedback)
    right = _RIGHT.get(options)
    if right is None or len(right) >= 100_000:
        if len(_RIGHT) >= 256:
            _RIGHT.clear()
        right = _RIGHT[options] = {}
    return right


def _right_key(
    name: str, submitted: Value | None, expected: Value, points: float
) -> tuple[Any, ...] | None:
    """What else a passed scalar item's verdict depends on (None for lists and zeros: 0.0 and
    -0.0 are one key but not one echo)."""
    if type(submitted) is not float or type(expected) is not float:
        return None
    if submitted == 0.0 or expected == 0.0:
        return None
    return (name, submitted, expected, points)


def resolve_policy(
    task: str,
    kind: str | None = None,
    decimals: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> Policy:
    """A policy from what was given: the task's course default, with given fields replaced.

    Another kind than the default's (exact, or decimals at 6 unless given) takes no tolerances.
    """
    default = DEFAULT_POLICIES[task]
    if kind is not None and kind != default.kind:
        default = Policy(kind, decimals=6, rtol=0.0, atol=0.0)
    return Policy(
        default.kind,
        decimals=default.decimals if decimals is None else decimals,
        rtol=default.rtol if rtol is None else rtol,
        atol=default.atol if atol is None else atol,
    )
