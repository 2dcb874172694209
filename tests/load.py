"""Steady submission load for fault and HA drills, and the checks every drill makes afterwards."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.servers import wait_for
from tests.stack import FINAL, Stack


class Load:
    """Submits missions at a steady rate from a thread; records every answer."""

    def __init__(self, stack: Stack, body, rate: float = 10, url: str | None = None, idempotent: bool = False) -> None:
        self.stack, self.body, self.interval, self.url = stack, body, 1 / rate, url
        # A fresh Idempotency-Key per submission: a proxy may then send it to a second API safely.
        self.idempotent = idempotent
        self.answers: list[tuple[int, str | None, dict]] = []  # (status, mission id, headers)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                headers = {"Idempotency-Key": str(uuid.uuid4())} if self.idempotent else {}
                resp = self.stack.request(
                    "POST", "/api/missions", url=self.url, json=self.body(), headers=headers, timeout=30
                )
                mission_id = resp.json().get("id") if resp.status_code == 202 else None
                self.answers.append((resp.status_code, mission_id, dict(resp.headers)))
            except requests.RequestException as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def accepted(self) -> list[str]:
        return [mission_id for status, mission_id, _ in self.answers if status == 202]


def statuses(stack: Stack, ids: list[str]) -> dict[str, str]:
    engine = create_engine(stack.env["BRAIN_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT CAST(id AS TEXT), status FROM missions")).all()
    finally:
        engine.dispose()
    found = dict(rows)
    return {mission_id: found.get(mission_id, "missing") for mission_id in ids}


def all_final(stack: Stack, ids: list[str], timeout: float) -> dict[str, str]:
    last: dict[str, str] = {}

    def done() -> bool:
        nonlocal last
        last = statuses(stack, ids)
        return all(status in FINAL for status in last.values())

    try:
        wait_for(done, timeout, 0.5, what="every accepted mission to finish")
    except TimeoutError:
        stuck = collections.Counter(last.values())
        logs = "\n".join(f"--- {p.name}\n{p.tail(40)}" for p in stack.procs)
        raise AssertionError(f"not every accepted mission finished: {dict(stuck)}\n{logs}") from None
    return last


def starts(runs: Path) -> collections.Counter:
    """How many times each mission's agent started (test.count appends one line per start)."""
    lines = runs.read_text().splitlines() if runs.exists() else []
    return collections.Counter(line.split()[0] for line in lines)


def assert_ran_once(stack: Stack, ids: list[str], runs: Path, timeout: float = 120) -> None:
    finals = all_final(stack, ids, timeout)
    unsuccessful = {m: stack.mission(m).get("error") for m, status in finals.items() if status != "succeeded"}
    assert collections.Counter(finals.values()) == {"succeeded": len(ids)}, unsuccessful
    started = starts(runs)
    twice = {m: n for m, n in started.items() if n != 1 and m in finals}
    assert not twice, f"agents started more than once: {twice}"
    assert set(ids) <= set(started)


def assert_only_202_or_503(load: Load) -> None:
    codes = collections.Counter(status for status, _, _ in load.answers)
    assert set(codes) <= {202, 503}, codes
    for status, _, headers in load.answers:
        if status == 503:
            assert int(headers["Retry-After"]) > 0
    assert not load.errors, load.errors[:5]
