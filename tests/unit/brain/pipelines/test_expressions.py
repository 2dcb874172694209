"""The expression language: what it reads, what it refuses, and how it compares."""

from __future__ import annotations

import pytest

from brain.pipelines import expressions
from brain.pipelines.expressions import EvaluationError, ExpressionError

SCOPE = {
    "inputs": {"env": "prod", "threshold": 0.85, "tags": ["a", "b"]},
    "nodes": {"train": {"status": "succeeded", "result": {"accuracy": 0.91, "folds": [0.9, 0.92]}}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nodes.train.result.accuracy > 0.85", True),
        ("nodes.train.result.accuracy > inputs.threshold and inputs.env == 'prod'", True),
        ("not (nodes.train.status == 'succeeded')", False),
        ("inputs.env in ['staging', \"prod\"]", True),
        ("'c' not in inputs.tags", True),
        ("nodes.train.result.folds.1 >= 0.92", True),
        ("nodes.train.result.missing == null", True),
        ("nodes.train.result.accuracy == 1 or true", True),
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("-2 < -1e0", True),
    ],
)
def test_a_condition_evaluates_to_what_it_says(text: str, expected: bool):
    assert expressions.condition(expressions.parse(text), SCOPE) is expected


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("__import__('os').system('true')", 17),
        ("nodes.train.result.accuracy >", None),
        ("a == b == c", 8),
        ("(inputs.env == 'prod'", None),
        ("inputs.env = 'prod'", 12),
        ("'unterminated", 1),
        ("true.x", 1),
    ],
)
def test_what_is_not_an_expression_is_refused_with_its_column(text: str, column: int | None):
    with pytest.raises(ExpressionError) as caught:
        expressions.parse(text)
    if column is not None:
        assert caught.value.column == column, str(caught.value)


def test_deep_nesting_and_long_text_are_refused_not_recursed():
    with pytest.raises(ExpressionError, match="nested"):
        expressions.parse("not " * 60 + "true")
    with pytest.raises(ExpressionError, match="longer"):
        expressions.parse("1 == " + "1" * 3000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inputs.env > 3", "cannot order"),
        ("inputs.threshold and true", "takes true or false"),
        ("1 in 2", "needs a list"),
        ("inputs.threshold", "a condition takes true or false"),
    ],
)
def test_a_type_mismatch_at_run_time_is_an_evaluation_error(text: str, message: str):
    with pytest.raises(EvaluationError, match=message):
        expressions.condition(expressions.parse(text), SCOPE)


def test_and_or_stop_at_their_answer():
    # The right side would be a type error: it is never evaluated.
    assert expressions.condition(expressions.parse("false and inputs.env > 3"), SCOPE) is False
    assert expressions.condition(expressions.parse("true or inputs.env > 3"), SCOPE) is True


def test_infer_reports_type_errors_before_any_run():
    problems: list[str] = []
    kinds = {"inputs.env": "string", "inputs.n": "number"}

    def type_of(path):
        if path.text not in kinds:
            raise ExpressionError(f"unknown {path.text}")
        return kinds[path.text]

    expressions.infer(expressions.parse("inputs.env > inputs.n or inputs.n and inputs.x == 1"), type_of, problems)
    assert any("cannot order a string and a number" in p for p in problems), problems
    assert any("inputs.n is a number" in p for p in problems), problems
    assert "unknown inputs.x" in problems
