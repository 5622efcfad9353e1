"""Unit tests of the grading core: policies, items, what feedback hides, the explanation search."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from service.core.grading import tasks as graders
from service.core.grading.policy import (
    Policy,
    Variant,
    first_mismatch,
    grade,
    resolve_policy,
)
from service.core.graph import adjoints, backward, forward


@pytest.mark.parametrize(
    ("policy", "submitted", "expected", "passes"),
    [
        (Policy("exact"), 0.1 + 0.2, 0.30000000000000004, True),
        (Policy("exact"), 0.3, 0.30000000000000004, False),
        (Policy("exact"), -0.0, 0.0, True),
        (Policy("decimals", decimals=6), -0.229733, -0.22973323521302547, True),
        (Policy("decimals", decimals=6), -0.229734, -0.22973323521302547, False),
        (Policy("relabs", rtol=1e-6), 1.0000009, 1.0, True),
        (Policy("relabs", rtol=1e-6), 1.0000011, 1.0, False),
        (Policy("relabs", atol=1e-8), 5e-9, 0.0, True),
        (Policy("relabs", rtol=1e-6, atol=1e-8), 2e-8, 0.0, False),
    ],
)
def test_policies_accept_what_their_rule_says(
    policy: Policy, submitted: float, expected: float, passes: bool
) -> None:
    assert policy.accepts(submitted, expected) is passes


def test_default_policies_are_relative_tolerances_and_the_course_checks_stay() -> None:
    assert resolve_policy("forward") == Policy("relabs", rtol=1e-10, atol=1e-13)
    assert resolve_policy("backward") == Policy("relabs", rtol=1e-10, atol=1e-13)
    assert resolve_policy("gradcheck") == Policy("relabs", rtol=1e-6, atol=1e-8)
    assert resolve_policy("train") == Policy("relabs", rtol=1e-9, atol=1e-12)
    assert resolve_policy("forward", "exact") == Policy("exact")
    assert resolve_policy("backward", "decimals") == Policy("decimals", decimals=6)
    assert resolve_policy("backward", decimals=3) == Policy("relabs", 3, 1e-10, 1e-13)


def test_one_ulp_from_np_tanh_passes_by_default_and_fails_exact() -> None:
    tanh = 0.8417934192562146
    ulp = math.nextafter(tanh, 2.0)
    assert resolve_policy("forward").accepts(ulp, tanh)
    assert not Policy("exact").accepts(ulp, tanh)


def test_first_mismatch_grades_a_shorter_list_on_its_entries() -> None:
    policy = Policy("exact")
    assert first_mismatch(policy, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) is None
    assert first_mismatch(policy, [1.0, 2.5, 3.0], [1.0, 2.0, 3.0]) == 2
    assert first_mismatch(policy, [1.0, 2.0], [1.0, 2.0, 3.0]) is None
    assert first_mismatch(policy, [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]) == 4
    assert first_mismatch(policy, 2.0, 2.0) is None


@pytest.mark.parametrize("feedback", ["verdict", "diagnosis"])
def test_two_unmatched_wrong_answers_get_the_same_feedback(feedback: str) -> None:
    first = grade("forward", {"a": 1.0}, {"a": 1.5}, feedback=feedback).items[0]
    second = grade("forward", {"a": 1.0}, {"a": 1e9}, feedback=feedback).items[0]
    assert first.error is second.error is None
    assert (first.expected, first.first_mismatch) == (None, None)
    assert {**vars(first), "submitted": None} == {**vars(second), "submitted": None}
    assert "off by" not in first.message


def test_lists_do_not_say_where_they_go_wrong_unless_revealed() -> None:
    hidden = grade("train", {"h": [1.0, 2.0, 3.0]}, {"h": [1.0, 9.0, 3.0]}).items[0]
    assert hidden.first_mismatch is None
    assert "epoch" not in hidden.message
    shown = grade("train", {"h": [1.0, 2.0, 3.0]}, {"h": [1.0, 9.0, 3.0]}, reveal=True).items[0]
    assert shown.first_mismatch == 2
    assert shown.error == 7.0


def test_verdict_feedback_names_no_mistake() -> None:
    wrong = Variant("other", "another thing", {"a": 2.0}, ("other",))
    item = grade("forward", {"a": 1.0}, {"a": 2.0}, variants=[wrong], feedback="verdict").items[0]
    assert (item.diagnosis, item.labels, item.message) == (None, (), "a is wrong.")


def test_the_simplest_explanation_of_the_whole_submission_wins() -> None:
    single = Variant("one", "one thing", {"a": 2.0, "b": 5.0}, ("one",))
    pair = Variant("one+two", "two things", {"a": 2.0, "b": 3.0}, ("one", "two"))
    result = grade("forward", {"a": 1.0, "b": 3.0}, {"a": 2.0, "b": 3.0}, variants=[single, pair])
    assert result.items[0].labels == ("one", "two")  # b rules the single one out
    result = grade("forward", {"a": 1.0, "b": 5.0}, {"a": 2.0, "b": 5.0}, variants=[single, pair])
    assert result.items[0].labels == ("one",)


def test_variants_are_searched_only_when_an_item_fails() -> None:
    calls: list[int] = []

    def search() -> list[Variant]:
        calls.append(1)
        return []

    grade("forward", {"a": 1.0}, {"a": 1.0}, variants=search)
    assert calls == []
    grade("forward", {"a": 1.0}, {"a": 3.0}, variants=search)
    assert calls == [1]


def test_a_wrong_version_equal_to_the_answer_is_never_the_diagnosis() -> None:
    same = Variant("same", "the same thing", {"a": 1.0})
    other = Variant("other", "another thing", {"a": 2.0})
    result = grade("forward", {"a": 1.0}, {"a": 2.0}, variants=[same, other])
    assert result.items[0].diagnosis == "other"
    assert "another thing" in result.items[0].message


def test_score_weighs_points_and_hides_expected_values() -> None:
    result = grade("forward", {"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3.0}, points={"b": 3.0})
    assert (result.score, result.max_score, result.passed) == (1.0, 4.0, False)
    assert all(item.expected is None for item in result.items)
    assert "2.0" not in result.items[1].message
    shown = grade("forward", {"b": 2.0}, {"b": 3.0}, reveal=True)
    assert shown.items[0].expected == 2.0
    assert "Expected 2.0." in shown.items[0].message


def _random_point(rng: random.Random) -> tuple[list[float], float, list[float]]:
    x = [rng.uniform(-2, 2) for _ in range(5)]
    w = [rng.uniform(-1, 1) for _ in range(9)]
    return x, rng.uniform(-2, 2), w


def test_the_stages_wrong_versions_start_from_are_graph_backward_exactly() -> None:
    rng = random.Random(4)
    for _ in range(200):
        cache = forward(*_random_point(rng))
        right = adjoints(cache)
        assert right.weights == backward(cache)
        for stage in ("sigmoid", "sigmoid_in", "tanh", "tanh_in", "exp_in"):
            given = {stage: getattr(right, stage)}
            assert adjoints(cache, given=given).weights == right.weights, stage


def test_optional_items_are_graded_only_when_submitted_or_given_points() -> None:
    x, y, w = _random_point(random.Random(1))
    only_difference = graders.grade_gradcheck(x, y, w, 1e-7, None, {"difference": 0.0})
    assert [i.name for i in only_difference.items] == ["difference"]
    with_points = graders.grade_gradcheck(
        x, y, w, 1e-7, None, {"difference": 0.0}, points={"numerical": 2.0}
    )
    assert [i.name for i in with_points.items] == ["difference", "numerical"]
    assert with_points.max_score == 3.0


def test_a_per_weight_answer_never_passes_and_its_definition_is_named() -> None:
    x, y, w = _random_point(random.Random(2))
    g = list(backward(forward(x, y, w)))
    from service.core.gradcheck import numerical_gradient

    n = numerical_gradient(x, y, w, 1e-7)
    ratios = [abs(a - b) / (abs(a) + abs(b)) for a, b in zip(g, n, strict=True)]
    result = graders.grade_gradcheck(x, y, w, 1e-7, g, {"per_weight": ratios, "numerical": list(n)})
    per_weight = next(i for i in result.items if i.name == "per_weight")
    assert not per_weight.passed
    assert per_weight.labels == ("gc_abs_ratio",)
    assert per_weight.expected is None
    assert per_weight.error is None
    assert result.score == 1.0 < result.max_score  # the numerical part alone is not full marks


def test_forward_without_y_pred_is_graded_on_the_template_items() -> None:
    x, y, w = _random_point(random.Random(3))
    values = forward(x, y, w).values()
    del values["y_pred"]
    result = graders.grade_point("forward", x, y, w, values)
    assert [i.name for i in result.items] == ["exp", "tanh", "sigmoid", "loss", "dy_pred"]
    assert result.passed


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(expected=finite, first=finite, second=finite)
def test_property_wrong_answers_without_a_diagnosis_look_alike(
    expected: float, first: float, second: float
) -> None:
    policy = resolve_policy("forward")
    assume(not policy.accepts(first, expected) and not policy.accepts(second, expected))
    a = grade("forward", {"exp": expected}, {"exp": first}).items[0]
    b = grade("forward", {"exp": expected}, {"exp": second}).items[0]
    assert {**vars(a), "submitted": 0.0} == {**vars(b), "submitted": 0.0}


@given(expected=st.lists(finite, min_size=1, max_size=6), data=st.data())
def test_property_a_wrong_history_says_nothing_of_where_or_how_far(
    expected: list[float], data: st.DataObject
) -> None:
    guesses = [data.draw(st.lists(finite, min_size=len(expected), max_size=len(expected)))
               for _ in range(2)]  # fmt: skip
    policy = resolve_policy("train")
    assume(all(first_mismatch(policy, g, expected) is not None for g in guesses))
    a, b = (
        grade("train", {"loss_history": expected}, {"loss_history": g}).items[0] for g in guesses
    )
    assert {**vars(a), "submitted": None} == {**vars(b), "submitted": None}


def test_the_look_up_diagnosis_answers_as_the_vectorized_one() -> None:
    """policy._diagnose_sorted (bisection) and _diagnose_numbers (numpy over every variant) agree
    on random tables and submissions near their rows, under several relabs policies."""
    import random

    from service.core.grading import policy as p

    rng = random.Random(11)
    names = ("a", "b", "c")
    for trial in range(300):
        expected = {n: rng.uniform(-2, 2) for n in names}
        variants = []
        for v in range(rng.randint(1, 30)):
            values = {n: rng.choice([expected[n] * (1 + rng.choice([1e-3, -1e-2, 0.5])),
                                     rng.uniform(-2, 2), 0.0])
                      for n in names if rng.random() < 0.7}  # fmt: skip
            variants.append(p.Variant(f"v{v}", "", values))
        row = rng.choice(variants).values
        submitted = {
            n: row.get(n, expected[n]) * (1 + rng.choice([0.0, 1e-8, 1e-5])) for n in names
        }
        pol = rng.choice([p.DEFAULT_POLICIES["backward"], p.Policy("relabs", rtol=1e-3, atol=1e-2)])
        failed = [n for n in names if p.first_mismatch(pol, submitted[n], expected[n])]
        if not failed:
            continue
        fast = p._diagnose_sorted(pol, submitted, expected, failed, tuple(variants))
        slow = p._diagnose_numbers(pol, submitted, expected, failed, tuple(variants))
        assert {k: v.id for k, v in fast.items()} == {k: v.id for k, v in slow.items()}, trial


def test_the_variants_table_read_in_one_step_is_the_item_by_item_table() -> None:
    from service.core.grading import mistakes, policy
    from service.core.graph import GRADIENT_NAMES, forward

    other = (0.3, -0.2, 0.5, 0.4, -0.6, 0.1, 0.2, -0.3, 0.7)
    points = [
        ((0.5, -1.0, 2.0, 0.3, 0.1), 0.7, (0.1,) * 9),
        ((1.5, 0.2, -0.4, 2.0, -1.1), -0.3, other),
    ]
    for x, y, w in points:
        variants = mistakes.backward_variants(forward(x, y, w))
        names = tuple(reversed(GRADIENT_NAMES[2:]))
        found = policy._full_table(variants, names)
        assert found is not None
        rows = [[v.values[n] for n in names] for v in variants]
        assert found[0].tolist() == rows
        assert found[1].all()
    with_a_list = [policy.Variant("a", "", {"dw1": [1.0]}), policy.Variant("b", "", {"dw1": 2.0})]
    assert policy._full_table(with_a_list, ("dw1",)) is None
    missing = [policy.Variant("a", "", {"dw1": 1.0}), policy.Variant("b", "", {"dw2": 2.0})]
    assert policy._full_table(missing, ("dw1",)) is None
