"""The pipeline expression language: comparisons, and/or/not and field paths, parsed (never `eval`ed).

    nodes.evaluate.result.accuracy > 0.85 and inputs.env in ['staging', 'prod']
    not (nodes.verify.status == 'succeeded')

Values are JSON's: numbers, 'strings' or "strings", true, false, null, [lists]. A path starts at
`inputs`, `nodes` (`nodes.<id>.result…`, `nodes.<id>.status`), or, in a `foreach` node, `item`
and `index`; an integer segment indexes a list (`nodes.split.result.0`). A path that leads
nowhere is null. `and`, `or` and `not` take booleans; ordering compares two numbers or two strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ROOTS = ("inputs", "nodes", "item", "index")
NODE_FIELDS = ("result", "status", "error")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
MAX_LENGTH = 2000
MAX_DEPTH = 50

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


class ExpressionError(ValueError):
    """The text is not an expression; `column` is 1-based."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message if column is None else f"{message} (column {column})")
        self.column = column


class EvaluationError(ValueError):
    """A well-formed expression that cannot be evaluated on these values (a type mismatch)."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any
    column: int


Expr = Literal | Path | ListOf | Not | BoolOp | Compare


@dataclass(frozen=True)
class _Tok:
    kind: str  # number string path op kw end
    text: str
    column: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExpressionError(f"unexpected character {text[column - 1]!r}", column)
        kind = m.lastgroup or "op"
        word = m.group(kind)
        column = m.start(kind) + 1
        if kind == "path" and word in _KEYWORDS:
            kind = "kw"
        elif kind == "path" and word.split(".")[0] in _KEYWORDS:
            raise ExpressionError(f"{word.split('.')[0]!r} cannot start a path", column)
        out.append(_Tok(kind, word, column))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


def _unquote(text: str, column: int) -> str:
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise ExpressionError(f"unknown escape \\{nxt}", column + i + 1)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "kw") and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            tok = self.peek()
            found = "the end" if tok.kind == "end" else repr(tok.text)
            raise ExpressionError(f"expected {text!r}, found {found}", tok.column)

    def parse(self) -> Expr:
        expr = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {tok.text!r}", tok.column)
        return expr

    def _nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} deep", self.peek().column)

    def or_(self) -> Expr:
        items = [self.and_()]
        while self.accept("or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_(self) -> Expr:
        items = [self.not_()]
        while self.accept("and"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_(self) -> Expr:
        if self.accept("not"):
            self._nested()
            operand = self.not_()
            self.depth -= 1
            return Not(operand)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.value()
        tok = self.peek()
        op = None
        if tok.kind == "op" and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take().text
        elif tok.kind == "kw" and tok.text == "in":
            op = self.take().text
        elif tok.kind == "kw" and tok.text == "not" and self.toks[self.i + 1].text == "in":
            self.i += 2
            op = "not in"
        if op is None:
            return left
        right = self.value()
        nxt = self.peek()
        if nxt.kind == "op" and nxt.text in ("==", "!=", "<", "<=", ">", ">="):
            raise ExpressionError("comparisons do not chain; join them with `and`", nxt.column)
        return Compare(op, left, right, tok.column)

    def value(self) -> Expr:
        tok = self.take()
        if tok.kind == "number":
            return Literal(float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind == "string":
            return Literal(_unquote(tok.text, tok.column))
        if tok.kind == "kw" and tok.text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "path":
            return Path(tuple(tok.text.split(".")), tok.column)
        if tok.kind == "op" and tok.text == "(":
            self._nested()
            inner = self.or_()
            self.expect(")")
            self.depth -= 1
            return inner
        if tok.kind == "op" and tok.text == "[":
            self._nested()
            items = []
            if not self.accept("]"):
                items.append(self.or_())
                while self.accept(","):
                    items.append(self.or_())
                self.expect("]")
            self.depth -= 1
            return ListOf(tuple(items))
        found = "the end" if tok.kind == "end" else repr(tok.text)
        raise ExpressionError(f"expected a value, found {found}", tok.column)


def parse(text: str) -> Expr:
    """Parse an expression; ExpressionError says what is wrong and at which column."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()


def paths(expr: Expr) -> list[Path]:
    """Every path the expression reads, in order."""
    if isinstance(expr, Path):
        return [expr]
    if isinstance(expr, Not):
        return paths(expr.operand)
    if isinstance(expr, BoolOp | ListOf):
        items = expr.operands if isinstance(expr, BoolOp) else expr.items
        return [p for item in items for p in paths(item)]
    if isinstance(expr, Compare):
        return paths(expr.left) + paths(expr.right)
    return []


def lookup(scope: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """Follow a path through dicts and lists; null where it leads nowhere."""
    value: Any = scope
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _boolean(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"{what} takes true or false, got {_type_name(value)} {value!r}")
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return left == right and _type_name(left) == _type_name(right)
    if op == "!=":
        return not _compare("==", left, right)
    if op in ("in", "not in"):
        if isinstance(right, list | dict):
            found = left in right
        elif isinstance(right, str) and isinstance(left, str):
            found = left in right
        else:
            raise EvaluationError(f"`{op}` needs a list, object or string on its right, got {_type_name(right)}")
        return found if op == "in" else not found
    lt, rt = _type_name(left), _type_name(right)
    if lt != rt or lt not in ("number", "string"):
        raise EvaluationError(f"cannot order {lt} {left!r} and {rt} {right!r} with `{op}`")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def evaluate(expr: Expr, scope: dict[str, Any]) -> Any:
    """The expression's value over `scope` (inputs, nodes, item, index); EvaluationError on a type mismatch."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return lookup(scope, expr.parts)
    if isinstance(expr, ListOf):
        return [evaluate(item, scope) for item in expr.items]
    if isinstance(expr, Not):
        return not _boolean(evaluate(expr.operand, scope), "`not`")
    if isinstance(expr, BoolOp):
        stop = expr.op == "or"  # or stops at the first true, and at the first false
        for operand in expr.operands:
            if _boolean(evaluate(operand, scope), f"`{expr.op}`") is stop:
                return stop
        return not stop
    if isinstance(expr, Compare):
        return _compare(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope))
    raise TypeError(expr)


def condition(expr: Expr, scope: dict[str, Any]) -> bool:
    """A condition's verdict: it must come out true or false."""
    return _boolean(evaluate(expr, scope), "a condition")


# Static types, for the validator: what a value is known to be before any run ("any": unknown).
ANY = "any"


def infer(expr: Expr, type_of_path, problems: list[str]) -> str:
    """The type `expr` has, given `type_of_path(path) -> type`; every type error found goes to `problems`.

    `type_of_path` raises ExpressionError for a path that cannot be read (unknown input, a node
    that is not upstream, a field of a number).
    """
    if isinstance(expr, Literal):
        return _type_name(expr.value)
    if isinstance(expr, Path):
        try:
            return type_of_path(expr)
        except ExpressionError as exc:
            problems.append(str(exc))
            return ANY
    if isinstance(expr, ListOf):
        for item in expr.items:
            infer(item, type_of_path, problems)
        return "list"
    if isinstance(expr, Not | BoolOp):
        operands = (expr.operand,) if isinstance(expr, Not) else expr.operands
        word = "not" if isinstance(expr, Not) else expr.op
        for operand in operands:
            found = infer(operand, type_of_path, problems)
            if found not in ("boolean", ANY):
                problems.append(f"`{word}` takes true or false, but {describe(operand)} is a {found}")
        return "boolean"
    if isinstance(expr, Compare):
        left, right = infer(expr.left, type_of_path, problems), infer(expr.right, type_of_path, problems)
        known = ANY not in (left, right)
        if expr.op in ("<", "<=", ">", ">=") and known and (left != right or left not in ("number", "string")):
            problems.append(f"`{expr.op}` cannot order a {left} and a {right} (column {expr.column})")
        elif expr.op in ("==", "!=") and known and "null" not in (left, right) and left != right:
            problems.append(f"`{expr.op}` compares a {left} with a {right}: never equal (column {expr.column})")
        elif expr.op in ("in", "not in") and right not in ("list", "object", "string", ANY):
            problems.append(f"`{expr.op}` needs a list, object or string on its right, not a {right}")
        return "boolean"
    return ANY


def describe(expr: Expr) -> str:
    if isinstance(expr, Path):
        return expr.text
    if isinstance(expr, Literal):
        return repr(expr.value)
    return "the expression"
