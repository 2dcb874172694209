"""Worker-side compare-and-set state changes: claim once, finish only the owning attempt, audit each."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from brain.db import session_scope
from brain.models import Event, Mission
from brain.services import execution
from tests.unit.missions import stored_mission


def _queued(url: str, **values) -> uuid.UUID:
    return stored_mission(url, payload={"msg": "hi"}, options={"start_within_s": 60}, **values)


def _events(url: str, mid: uuid.UUID) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(Event.type).where(Event.mission_id == mid).order_by(Event.id)))


def test_claim_returns_the_updated_row_once(database_url):
    mid = _queued(database_url, timeout_s=7)
    with session_scope(database_url) as session:
        mission = execution.claim(session, mid, "w1")
    assert mission is not None
    assert (mission.status, mission.attempts, mission.worker, mission.timeout_s) == ("running", 1, "w1", 7)
    assert mission.payload == {"msg": "hi"} and mission.options == {"start_within_s": 60}
    assert mission.started_at is not None and mission.started_at.tzinfo is not None
    with session_scope(database_url) as session:
        assert execution.claim(session, mid, "w2") is None  # a duplicate message
    assert _events(database_url, mid) == ["mission.started"]


def test_finish_moves_only_the_owning_attempt(database_url):
    mid = _queued(database_url)
    with session_scope(database_url) as session:
        mission = execution.claim(session, mid, "w1")
    with session_scope(database_url) as session:
        assert not execution.finish(session, mission, "succeeded", result={"x": 1}, attempt=2)
    with session_scope(database_url) as session:
        assert execution.finish(
            session,
            mission,
            "succeeded",
            result={"x": 1},
            attempt=1,
            usage={"tokens": 3, "cost_usd": 0.0},
            would_have=["NR-E001"],
        )
    assert mission.status == "succeeded"
    with session_scope(database_url) as session:
        row = session.get(Mission, mid)
        assert (row.status, row.result, row.usage, row.would_have) == (
            "succeeded",
            {"x": 1},
            {"tokens": 3, "cost_usd": 0.0},
            ["NR-E001"],
        )
        assert row.finished_at is not None
        # A persistent instance is synchronised without being marked dirty.
        assert not execution.finish(session, row, "failed", error={"code": "x"})
        assert row.status == "succeeded" and not session.dirty
    assert _events(database_url, mid) == ["mission.started", "mission.succeeded"]
