"""Transforms: registered pure functions a `transform` node runs on its rendered `args`.

A transform runs inside the transaction that advances its run (no worker, no mission), so it
must be quick and touch nothing but its arguments. Register your own with `@transform(...)`
in a module named in BRAIN_AGENT_MODULES, as agents are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class TransformError(ValueError):
    """The arguments do not suit the transform; the node fails with this message."""


@dataclass(frozen=True)
class Transform:
    name: str
    function: Callable[..., Any]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str
    open_args: bool  # takes any further argument (as `shape` does)

    def __call__(self, args: dict[str, Any]) -> Any:
        missing = [k for k in self.required if k not in args]
        if missing:
            raise TransformError(f"missing argument(s): {', '.join(missing)}")
        return self.function(**args)


_transforms: dict[str, Transform] = {}


def transform(name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), open_args: bool = False):
    """Decorator: register `function(**args)` as the transform `name`."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        doc = (function.__doc__ or "").strip().splitlines()
        _transforms[name] = Transform(name, function, required, optional, doc[0] if doc else "", open_args)
        return function

    return register


def get_transform(name: str) -> Transform | None:
    return _transforms.get(name)


def registered_transforms() -> dict[str, Transform]:
    return dict(_transforms)


def _numbers(values: Any, field: str | None) -> list[float]:
    if not isinstance(values, list):
        raise TransformError(f"`values` must be a list, got {type(values).__name__}")
    out = []
    for item in values:
        if field is not None:
            item = item.get(field) if isinstance(item, dict) else None
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise TransformError(f"not a number: {item!r}" + (f" (field {field!r})" if field else ""))
        out.append(item)
    return out


@transform("shape", optional=("value",), open_args=True)
def shape(value: Any = None, **fields: Any) -> Any:
    """Returns `value`, or else the other arguments as an object: a template that reshapes results."""
    return value if value is not None else fields


@transform("range", required=("count",), optional=("start", "prefix"))
def range_(count: Any, start: Any = 0, prefix: str | None = None) -> list[Any]:
    """`count` consecutive integers from `start` (with `prefix`, strings such as part-0): fan-out keys."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise TransformError("`count` must be an integer from 0 to 10000")
    if isinstance(start, bool) or not isinstance(start, int):
        raise TransformError("`start` must be an integer")
    return [f"{prefix}{start + i}" if prefix is not None else start + i for i in range(count)]


@transform("split", required=("items", "parts"))
def split(items: Any, parts: Any) -> list[list[Any]]:
    """`items` dealt into `parts` lists of nearly equal length (empty ones left out)."""
    if not isinstance(items, list):
        raise TransformError("`items` must be a list")
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= 10_000:
        raise TransformError("`parts` must be an integer from 1 to 10000")
    chunks = [items[i::parts] for i in range(parts)]
    return [c for c in chunks if c]


@transform("sum", required=("values",), optional=("field",))
def sum_(values: Any, field: str | None = None) -> float:
    """The sum of `values` (or of each one's `field`)."""
    return sum(_numbers(values, field))


@transform("mean", required=("values",), optional=("field",))
def mean(values: Any, field: str | None = None) -> float:
    """The mean of `values` (or of each one's `field`)."""
    numbers = _numbers(values, field)
    if not numbers:
        raise TransformError("the mean of no values")
    return sum(numbers) / len(numbers)


@transform("count", required=("values",))
def count(values: Any) -> int:
    """How many items `values` holds."""
    if not isinstance(values, list | dict):
        raise TransformError("`values` must be a list or an object")
    return len(values)


@transform("flatten", required=("values",))
def flatten(values: Any) -> list[Any]:
    """A list of lists as one list."""
    if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
        raise TransformError("`values` must be a list of lists")
    return [item for chunk in values for item in chunk]
