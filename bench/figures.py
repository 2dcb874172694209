"""Figures: one measured value with a unit, printed as a `name value unit` line and kept for the JSON file."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

NA = "n/a"


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    note: str = ""

    def line(self) -> str:
        """The stdout form: `name value unit` (value `n/a` when it could not be measured)."""
        return f"{self.name} {format_value(self.value)} {self.unit}"


def format_value(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.1f}"


def parse_line(line: str) -> Figure:
    """Inverse of Figure.line: `name value unit`; raises ValueError on anything else."""
    parts = line.split()
    if len(parts) != 3:
        raise ValueError(f"not a `name value unit` line: {line!r}")
    name, raw, unit = parts
    value = None if raw == NA else float(raw)
    return Figure(name, value, unit)


def parse_lines(text: str) -> dict[str, Figure]:
    """Every figure line of a bench run's stdout, by name (other lines are skipped)."""
    out: dict[str, Figure] = {}
    for line in text.splitlines():
        try:
            fig = parse_line(line)
        except ValueError:
            continue
        out[fig.name] = fig
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b in (None, 0):
        return None
    return a / b


@dataclass
class Results:
    """Everything one run measured, in the order it was measured."""

    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: float | None, unit: str, note: str = "", echo: bool = True) -> Figure:
        fig = Figure(name, None if value is None else round(float(value), 3), unit, note)
        self.figures.append(fig)
        if echo:
            print(fig.line(), flush=True)
        return fig

    def get(self, name: str) -> float | None:
        for fig in reversed(self.figures):
            if fig.name == name:
                return fig.value
        return None

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.figures]
