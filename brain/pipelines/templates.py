"""Templates: JSON values whose strings hold `${expression}` placeholders, rendered over a run's scope.

A string that is one placeholder (`"${inputs.rows}"`) becomes the expression's value with its
type (a number stays a number, a list a list); a placeholder inside other text is rendered as
text (strings as they are, anything else as JSON). `$${` writes a literal `${`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from brain.pipelines import expressions
from brain.pipelines.expressions import Expr, ExpressionError


@dataclass(frozen=True)
class Placeholder:
    expr: Expr
    text: str


@dataclass(frozen=True)
class Text:
    """A string template: literal pieces and placeholders, in order."""

    pieces: tuple[str | Placeholder, ...]

    @property
    def whole(self) -> Placeholder | None:
        """The placeholder, when the string is exactly one (its value keeps its type)."""
        if len(self.pieces) == 1 and isinstance(self.pieces[0], Placeholder):
            return self.pieces[0]
        return None


def _end_of(text: str, start: int) -> int:
    """Index of the `}` closing a placeholder whose expression starts at `start` (quotes may hold `}`)."""
    quote = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    raise ExpressionError("`${` without its closing `}`", start - 1)


def parse_text(text: str) -> Text | str:
    """A string's template, or the string itself when it holds no placeholder."""
    if "${" not in text:
        return text
    pieces: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            literal.append("${")
            i += 3
        elif text.startswith("${", i):
            end = _end_of(text, i + 2)
            source = text[i + 2 : end]
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(Placeholder(expressions.parse(source), source.strip()))
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    if literal:
        pieces.append("".join(literal))
    if not any(isinstance(p, Placeholder) for p in pieces):
        return "".join(p for p in pieces if isinstance(p, str))
    return Text(tuple(pieces))


def compile_value(value: Any, where: tuple = ()) -> tuple[Any, list[tuple[tuple, str]]]:
    """A JSON value with every string parsed; problems as (path inside the value, message)."""
    problems: list[tuple[tuple, str]] = []

    def walk(item: Any, path: tuple) -> Any:
        if isinstance(item, str):
            try:
                return parse_text(item)
            except ExpressionError as exc:
                problems.append((path, f"bad expression: {exc}"))
                return item
        if isinstance(item, dict):
            return {k: walk(v, (*path, k)) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, (*path, i)) for i, v in enumerate(item)]
        return item

    return walk(value, where), problems


def placeholders(compiled: Any) -> list[Placeholder]:
    if isinstance(compiled, Text):
        return [p for p in compiled.pieces if isinstance(p, Placeholder)]
    if isinstance(compiled, dict):
        return [p for v in compiled.values() for p in placeholders(v)]
    if isinstance(compiled, list):
        return [p for v in compiled for p in placeholders(v)]
    return []


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def render(compiled: Any, scope: dict[str, Any]) -> Any:
    """The value with every placeholder replaced; EvaluationError when an expression cannot be evaluated."""
    if isinstance(compiled, Text):
        whole = compiled.whole
        if whole is not None:
            return expressions.evaluate(whole.expr, scope)
        return "".join(
            p if isinstance(p, str) else _as_text(expressions.evaluate(p.expr, scope)) for p in compiled.pieces
        )
    if isinstance(compiled, dict):
        return {k: render(v, scope) for k, v in compiled.items()}
    if isinstance(compiled, list):
        return [render(v, scope) for v in compiled]
    return compiled
