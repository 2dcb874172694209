"""Templates: a whole placeholder keeps its value's type, text interpolates, `$${` escapes."""

from __future__ import annotations

import pytest

from brain.pipelines import templates
from brain.pipelines.expressions import EvaluationError, ExpressionError

SCOPE = {"inputs": {"n": 3, "name": "etl", "parts": ["p0", "p1"]}, "item": {"id": 7}}


def test_render_keeps_types_and_interpolates_text():
    compiled, problems = templates.compile_value(
        {
            "count": "${inputs.n}",
            "parts": "${ inputs.parts }",
            "label": "run ${inputs.name} of ${inputs.n} parts, item ${item}",
            "literal": "costs $${inputs.n}",
            "same": ["plain", 1, None, {"deep": "${inputs.n > 2}"}],
        }
    )
    assert problems == []
    assert templates.render(compiled, SCOPE) == {
        "count": 3,
        "parts": ["p0", "p1"],
        "label": 'run etl of 3 parts, item {"id":7}',
        "literal": "costs ${inputs.n}",
        "same": ["plain", 1, None, {"deep": True}],
    }


def test_a_bad_placeholder_is_a_problem_at_its_path():
    _, problems = templates.compile_value({"a": {"b": ["ok", "${inputs.n >}"]}, "c": "${unclosed"})
    assert [p for p, _ in problems] == [("a", "b", 1), ("c",)]
    with pytest.raises(ExpressionError):
        templates.parse_text("${ 'a}' ")


def test_rendering_a_mismatch_raises():
    compiled, _ = templates.compile_value("${inputs.name > 1}")
    with pytest.raises(EvaluationError):
        templates.render(compiled, SCOPE)
