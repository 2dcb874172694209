"""Helpers shared by the observability end-to-end tests: Prometheus text, raw SQL, brain CLI."""

from __future__ import annotations

import re

import requests
from sqlalchemy import create_engine, text

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def samples(body: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in body.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            out.append((match.group(1), labels, float(match.group(3))))
    return out


def value(body: str, name: str, **labels: str) -> float | None:
    """Sum of the samples of `name` matching `labels`; None if there is none."""
    found = [v for n, lab, v in samples(body) if n == name and all(lab.get(k) == w for k, w in labels.items())]
    return sum(found) if found else None


def metrics(url: str) -> str:
    resp = requests.get(f"{url}/metrics", timeout=10)
    assert resp.status_code == 200
    return resp.text


def database_url(stack) -> str:
    """The owner's URL: raw SQL of a test is not held by row-level security."""
    return stack.admin_database_url


def sql(stack, statement: str, **params):
    engine = create_engine(database_url(stack))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()
