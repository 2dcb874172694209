"""The limits every JSON input meets (brain/json_limits.py): what passes is what can be stored exactly."""

from __future__ import annotations

import pytest

from brain.json_limits import MAX_DEPTH, MAX_INT, MIN_INT, problems


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "value",
    [
        {"n": MAX_INT, "m": MIN_INT, "f": 1.5, "e": 1e308, "s": "ünïcode 😀", "b": True, "z": None, "l": [1, "x"]},
        _nested(MAX_DEPTH),
        [],
        {},
        "plain",
        0,
    ],
)
def test_storable_values_pass(value):
    assert problems(value) == {}


@pytest.mark.parametrize(
    ("value", "path", "needle"),
    [
        ({"n": MAX_INT + 1}, "n", "64-bit"),
        ({"n": MIN_INT - 1}, "n", "64-bit"),
        ({"p": {"n": 10**400}}, "p.n", "64-bit"),
        ({"v": float("nan")}, "v", "NaN"),
        ({"v": [1, float("inf")]}, "v[1]", "NaN"),
        ({"name": "a\x00b"}, "name", "NUL"),
        ({"name": "\ud800"}, "name", "surrogates"),
        ({"\ud800": 1}, "\\ud800", "Key"),
        ({"a\x00": 1}, "a\x00", "Key"),
    ],
)
def test_what_cannot_be_stored_is_named_by_path(value, path, needle):
    found = problems(value)
    assert path in found, found
    assert needle in found[path][0]


def test_depth_beyond_the_limit_is_refused_without_recursion():
    found = problems(_nested(MAX_DEPTH + 1))
    assert any("levels deep" in m[0] for m in found.values())
    problems(_nested(100_000))  # iterative: no RecursionError however deep


def test_problem_reports_are_bounded():
    assert len(problems({f"k{i}": float("nan") for i in range(10_000)})) <= 20
