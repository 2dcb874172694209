"""Rows and events queued on a session are written together at commit, or not at all."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from brain.db import get_engine, session_scope, utcnow
from brain.models import Event, Mission
from brain.services import audit
from brain.services.audit_verify import verify


def _mission(**fields) -> Mission:
    values = {
        "id": uuid.uuid4(),
        "tenant": "t",
        "name": "m",
        "agent": "echo",
        "priority": "NORMAL",
        "status": "queued",
        "attempts": 0,
        "created_at": utcnow(),
        "payload": {"big": 2**70},
    }
    return Mission(**{**values, **fields})


def _count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_row_and_events_land_together_and_verify(database_url):
    mission = _mission()
    with session_scope(database_url) as session:
        audit.insert_at_commit(session, mission)
        audit.record(session, "mission.created", mission.id, tenant="t", data={"agent": "echo"})
        audit.record(session, "mission.queued", mission.id, tenant="t")
    with session_scope(database_url) as session:
        stored = session.get(Mission, mission.id)
        assert (stored.name, stored.status, stored.payload) == ("m", "queued", {"big": 2**70})
        types = session.scalars(select(Event.type).where(Event.mission_id == mission.id).order_by(Event.id))
        assert list(types) == ["mission.created", "mission.queued"]
        report = verify(session)
    assert report.ok and report.checked == 2


def test_an_untouched_transaction_is_one_statement_on_postgresql(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writes rows and events in the session's own transaction")
    sent: list[str] = []
    engine = get_engine(database_url)
    listener = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        mission = _mission()
        with session_scope(database_url) as session:
            audit.insert_at_commit(session, mission)
            audit.record(session, "mission.created", mission.id, tenant="t")
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)
    assert len(sent) == 1 and "INSERT INTO missions" in sent[0] and "brain_append_events" in sent[0]
    assert _count(database_url, Mission) == 1


def test_nothing_is_written_when_the_transaction_fails(database_url):
    before_missions, before_events = _count(database_url, Mission), _count(database_url, Event)
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        audit.insert_at_commit(session, _mission())
        audit.record(session, "mission.created", None, tenant="t")
        raise RuntimeError("the request failed after queuing its writes")
    # A later transaction on a fresh session writes only its own rows.
    with session_scope(database_url) as session:
        audit.record(session, "mission.queued", None, tenant="t")
    assert _count(database_url, Mission) == before_missions
    assert _count(database_url, Event) == before_events + 1


def test_a_failing_statement_leaves_neither_row_nor_event(database_url):
    mission = _mission()
    with session_scope(database_url) as session:
        audit.insert_at_commit(session, mission)
    events = _count(database_url, Event)
    # The same primary key again: the insert fails, so the event queued with it must not land.
    with pytest.raises(Exception), session_scope(database_url) as session:  # noqa: B017 - IntegrityError
        audit.insert_at_commit(session, _mission(id=mission.id))
        audit.record(session, "mission.created", mission.id, tenant="t")
    assert _count(database_url, Event) == events


def test_inside_a_started_transaction_the_writes_share_it(database_url):
    first = _mission()
    with session_scope(database_url) as session:
        audit.insert_at_commit(session, first)
    # The session has written already (an UPDATE); the queued insert then fails on a duplicate
    # key: the UPDATE must roll back with it, so the writes ran in the session's transaction.
    with pytest.raises(Exception), session_scope(database_url) as session:  # noqa: B017 - IntegrityError
        session.execute(update(Mission).where(Mission.id == first.id).values(status="cancelled"))
        audit.insert_at_commit(session, _mission(id=first.id))
        audit.record(session, "mission.created", first.id, tenant="t")
    with session_scope(database_url) as session:
        assert session.get(Mission, first.id).status == "queued"


def test_several_rows_of_one_table_in_one_transaction(database_url):
    # Defaults (tags, would_have, options ...) are filled per row, so rows never share a bind name.
    missions = [_mission(name=f"m{i}") for i in range(6)]
    with session_scope(database_url) as session:
        for mission in missions:
            audit.insert_at_commit(session, mission)
            audit.record(session, "mission.created", mission.id, tenant="t")
    with session_scope(database_url) as session:
        stored = [session.get(Mission, m.id) for m in missions]
        assert [m.name for m in stored] == [f"m{i}" for i in range(6)]
        assert all(m.tags == [] and m.would_have == [] and m.risk_tier == "STANDARD" for m in stored)
        assert verify(session).ok
