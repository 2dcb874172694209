"""The audit hash chain: verify passes, catches an edited or deleted row, and never forks under concurrency."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from brain.db import get_engine, session_scope
from brain.services import audit, audit_head
from brain.services.audit_verify import verify
from tests.tamper import tamper


def _write(url: str, n: int, mission_id: uuid.UUID | None = None) -> None:
    for i in range(n):
        with session_scope(url) as session:
            audit.record(session, "mission.queued", mission_id, actor="test", data={"i": i, "note": "ünï"})


def _verify(url: str):
    with session_scope(url) as session:
        return verify(session)


def _tamper(url: str, *statements: str) -> None:
    for statement in statements:
        tamper(url, statement)


def test_chain_verifies_and_catches_an_edited_row(database_url):
    _write(database_url, 5, uuid.uuid4())
    report = _verify(database_url)
    assert report.ok and report.checked == 5
    _tamper(database_url, "UPDATE events SET actor = 'mallory' WHERE id = 3")
    report = _verify(database_url)
    assert not report.ok
    assert report.broken.event_id == 3 and "altered" in report.broken.reason
    assert [b.event_id for b in report.breaks] == [3]  # the rows after it still link to it as stored
    assert report.checked == 5


def test_chain_catches_a_deleted_row(database_url):
    _write(database_url, 4)
    _tamper(database_url, "DELETE FROM events WHERE id = 2")
    report = _verify(database_url)
    assert not report.ok and report.broken.event_id == 3 and "deleted" in report.broken.reason


def test_verify_reports_every_break_not_only_the_first(database_url):
    _write(database_url, 8)
    _tamper(
        database_url,
        "UPDATE events SET actor = 'mallory' WHERE id = 2",
        "DELETE FROM events WHERE id = 5",
        "UPDATE events SET type = 'x' WHERE id = 7",
    )
    report = _verify(database_url)
    assert [(b.event_id, "altered" in b.reason or "deleted" in b.reason) for b in report.breaks] == [
        (2, True),
        (6, True),
        (7, True),
    ]
    assert report.broken_count == 3 and report.checked == 7


def test_events_are_append_only_for_the_app(database_url):
    _write(database_url, 2)
    for statement in ("UPDATE events SET actor = 'mallory' WHERE id = 1", "DELETE FROM events WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"), get_engine(database_url).begin() as conn:
            conn.execute(text(statement))
    if not database_url.startswith("sqlite"):
        with pytest.raises(DBAPIError, match="append-only"), get_engine(database_url).begin() as conn:
            conn.execute(text("TRUNCATE events"))
    assert _verify(database_url).ok


def test_values_that_other_json_parsers_round_differently_still_verify(database_url):
    # Stored exactly; a parser that reads 2**64 as a float would recompute another hash.
    with session_scope(database_url) as session:
        audit.record(
            session,
            "governor.decision",
            uuid.uuid4(),
            data={
                "inputs": {"payload": {"n": 2**64, "neg": -(2**70), "f": 0.1, "e": 1e300}},
                "nan": float("nan"),
                "when": uuid.uuid4(),
            },
        )
    report = _verify(database_url)
    assert report.ok, report.breaks


def test_a_published_head_detects_a_rewritten_chain(database_url):
    _write(database_url, 3)
    with session_scope(database_url) as session:
        head = audit_head.current(session, "k" * 32)
        assert head["event_id"] == 3 and head["events"] == 3
        assert audit_head.check(session, head, "k" * 32) is None
        assert "signature" in audit_head.check(session, {**head, "hash": "0" * 64}, "k" * 32)
        assert "signature" in audit_head.check(session, head, "another key")
    # The whole chain rewritten consistently: verify alone passes, the published head does not.
    with session_scope(database_url) as session:
        rows = session.execute(text("SELECT id FROM events ORDER BY id")).all()
    _tamper(database_url, "DELETE FROM events")
    if database_url.startswith("postgres"):  # and the chain head, so the new chain starts from zero
        _tamper(database_url, "UPDATE audit_chain_head SET hash = repeat('0', 64), event_id = NULL")
    _write(database_url, 3)
    assert _verify(database_url).ok
    with session_scope(database_url) as session:
        problem = audit_head.check(session, head, "k" * 32)
    assert len(rows) == 3 and problem and ("rewritten" in problem or "no longer exists" in problem)


def test_concurrent_writers_do_not_fork_the_chain(database_url):
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _write(database_url, 15, uuid.uuid4())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = _verify(database_url)
    assert report.ok, report.broken
    assert report.checked == 90
    with get_engine(database_url).connect() as conn:
        distinct_prev = conn.execute(text("SELECT COUNT(DISTINCT prev_hash) FROM events")).scalar()
    assert distinct_prev == 90  # no two events claim the same predecessor
