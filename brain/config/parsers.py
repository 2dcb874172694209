"""Parsers for setting values: each takes (variable name, raw text) and returns the value or raises ConfigError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from limits import parse_many

from brain.errors import ConfigError
from brain.profiles import ALL_MODULES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use one of: true, false")


def _int(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is out of range; valid: {low}..{high}")
        return value

    return parse


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in choices:
            raise ConfigError(f"{name}={raw!r} is not valid; valid choices: {', '.join(choices)}")
        return raw

    return parse


def _modules(name: str, raw: str) -> tuple[str, ...]:
    mods = tuple(m.strip() for m in raw.split(",") if m.strip())
    unknown = [m for m in mods if m not in ALL_MODULES]
    if unknown:
        raise ConfigError(f"{name} names unknown module(s) {', '.join(unknown)}; valid: {', '.join(ALL_MODULES)}")
    return mods


def _float(low: float, high: float) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is out of range; valid: {low}..{high}")
        return value

    return parse


def _json_object(name: str, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return value


def _str(name: str, raw: str) -> str:
    return raw


def _list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _rate(name: str, raw: str) -> str:
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a rate limit; write e.g. 100/second or 600/minute") from None
    return raw
