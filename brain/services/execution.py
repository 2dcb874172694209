"""Worker-side state changes of a mission, each a compare-and-set on its status."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from brain.db import utcnow
from brain.models import Mission
from brain.services import audit


def claim(session: Session, mission_id: uuid.UUID, worker: str) -> Mission | None:
    """queued → running (attempts + 1). None if the mission is not queued: a duplicate message."""
    changed = session.execute(
        update(Mission)
        .where(Mission.id == mission_id, Mission.status == "queued")
        .values(status="running", attempts=Mission.attempts + 1, started_at=utcnow(), worker=worker)
    ).rowcount
    if not changed:
        return None
    mission = session.scalars(select(Mission).where(Mission.id == mission_id)).one()
    session.refresh(mission)
    audit.record(session, "mission.started", mission_id, tenant=mission.tenant, actor=worker,
                 data={"attempt": mission.attempts})
    return mission


def finish(
    session: Session,
    mission: Mission,
    status: str,
    *,
    result: Any = None,
    error: dict[str, Any] | None = None,
    attempt: int | None = None,
    usage: dict[str, Any] | None = None,
) -> bool:
    """running → final status, only for the attempt that owns it; False if someone else moved it."""
    query = update(Mission).where(Mission.id == mission.id, Mission.status == "running")
    if attempt is not None:
        query = query.where(Mission.attempts == attempt)
    changed = session.execute(
        query.values(status=status, result=result, error=error, finished_at=utcnow())
    ).rowcount
    if changed:
        data: dict[str, Any] = {"attempt": attempt or mission.attempts}
        if error:
            data["error"] = error
        if usage:
            data["usage"] = usage
        audit.record(session, f"mission.{status}", mission.id, tenant=mission.tenant, data=data)
    return bool(changed)


def requeue(session: Session, mission: Mission, reason: str) -> bool:
    """running → queued after its worker was lost, so the sweeper can publish it again."""
    changed = session.execute(
        update(Mission)
        .where(Mission.id == mission.id, Mission.status == "running", Mission.attempts == mission.attempts)
        .values(status="queued", dispatched_at=None, worker=None)
    ).rowcount
    if changed:
        audit.record(session, "mission.retried", mission.id, tenant=mission.tenant,
                     data={"reason": reason, "attempt": mission.attempts})
    return bool(changed)


def running_started_before(session: Session, before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(session.scalars(
        select(Mission).where(Mission.status == "running", Mission.started_at < before).limit(limit)
    ))


def undispatched(session: Session, created_before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(session.scalars(
        select(Mission)
        .where(Mission.status == "queued", Mission.dispatched_at.is_(None), Mission.created_at < created_before)
        .order_by(Mission.created_at)
        .limit(limit)
    ))


def dispatched_before(session: Session, before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(session.scalars(
        select(Mission)
        .where(Mission.status == "queued", Mission.dispatched_at < before)
        .order_by(Mission.created_at)
        .limit(limit)
    ))
