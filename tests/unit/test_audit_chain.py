"""The audit hash chain: verify passes, catches an edited or deleted row, and never forks under concurrency."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from brain import schema
from brain.db import get_engine, session_scope
from brain.services import audit
from brain.services.audit_verify import verify


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/a.db"
    else:
        url = request.getfixturevalue("postgres").create_database(f"audit_{tmp_path.name[-8:]}".lower())
    schema.upgrade(url)
    return url


def _write(url: str, n: int, mission_id: uuid.UUID | None = None) -> None:
    for i in range(n):
        with session_scope(url) as session:
            audit.record(session, "mission.queued", mission_id, actor="test", data={"i": i, "note": "ünï"})


def _verify(url: str):
    with session_scope(url) as session:
        return verify(session)


def test_chain_verifies_and_catches_an_edited_row(database_url):
    _write(database_url, 5, uuid.uuid4())
    report = _verify(database_url)
    assert report.ok and report.checked == 5
    with get_engine(database_url).begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'mallory' WHERE id = 3"))
    report = _verify(database_url)
    assert not report.ok
    assert report.broken.event_id == 3 and "altered" in report.broken.reason
    assert report.checked == 2


def test_chain_catches_a_deleted_row(database_url):
    _write(database_url, 4)
    with get_engine(database_url).begin() as conn:
        conn.execute(text("DELETE FROM events WHERE id = 2"))
    report = _verify(database_url)
    assert not report.ok and report.broken.event_id == 3 and "deleted" in report.broken.reason


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
