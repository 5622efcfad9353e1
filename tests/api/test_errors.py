"""Validation errors are flattened once, and bounded: a bad body cannot buy a large answer."""

from __future__ import annotations

from service.api.errors import IN_DETAIL, MAX_ECHO, MAX_LISTED, field_errors


def test_field_errors_list_at_most_the_cap_and_count_the_rest_in_the_detail() -> None:
    raw = [{"loc": ("body", f"k{i}"), "msg": "Extra inputs", "type": "extra"} for i in range(500)]
    listed, detail = field_errors(raw)
    assert len(listed) == MAX_LISTED
    assert listed[0] == {"loc": "body.k0", "msg": "Extra inputs", "type": "extra"}
    assert detail.endswith(f"; and {500 - IN_DETAIL} more")
    assert detail.count("Extra inputs") == IN_DETAIL


def test_field_errors_never_echo_a_long_key() -> None:
    key = "k" * 3_000_000
    listed, detail = field_errors([{"loc": ("body", key), "msg": "Extra inputs", "type": "x"}])
    (error,) = listed
    assert error["loc"].startswith("body.kkk")
    assert len(error["loc"]) <= len("body.") + MAX_ECHO
    assert len(detail) < 4 * MAX_ECHO


def test_field_errors_take_dotted_locations_as_they_are() -> None:
    listed, detail = field_errors([{"loc": "query.x", "msg": "m", "type": "t"}])
    assert listed == [{"loc": "query.x", "msg": "m", "type": "t"}]
    assert detail == "query.x: m"
