"""What a JSON value must be to be stored, read back exactly and listed: the limits every input meets.

Refused, anywhere in a request body or query string, before anything is written:
- integers outside the signed 64-bit range (they do not round-trip through the JSON columns
  and their encoders: 2**64 would come back as a float, 10**400 not at all);
- NaN, Infinity and numbers too large for a double (JSON has no such values);
- nesting deeper than MAX_DEPTH (encoders stop at a recursion limit);
- strings (values or keys) holding NUL or a lone UTF-16 surrogate (PostgreSQL text cannot
  store NUL; a lone surrogate cannot be encoded as UTF-8).
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 64
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
MAX_PROBLEMS = 20  # a hostile body must not produce a huge error response


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in value:
        return "Must not contain NUL (\\u0000) characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must not contain unpaired UTF-16 surrogates (\\ud800-\\udfff)."
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            return f"Integers must be between {MIN_INT} and {MAX_INT} (signed 64-bit)."
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "NaN, Infinity and out-of-range numbers are not JSON."
    if isinstance(value, str):
        return text_problem(value)
    return None


def problems(value: Any, path: str = "") -> dict[str, list[str]]:
    """Every place in `value` that breaks a limit, as {dotted path: [message]} (empty: fine)."""
    found: dict[str, list[str]] = {}
    # Iterative, so a hostile depth cannot exhaust the interpreter's stack while being checked.
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack and len(found) < MAX_PROBLEMS:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                found[where or "$"] = [f"Nested more than {MAX_DEPTH} levels deep."]
                continue
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and (bad := text_problem(key)):
                    found[_join(where, key)] = [f"Key: {bad}"]
                    continue
                stack.append((child, _join(where, key), depth + 1))
        elif (bad := _scalar_problem(item)) is not None:
            found[where or "$"] = [bad]
    return found


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    # The path goes into the error response, which must itself be valid UTF-8.
    shown = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{path}.{shown}" if path else shown
