"""Reading, listing and cancelling missions (creating one is brain/submission.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from brain.config import Settings
from brain.db import utcnow
from brain.errors import Conflict, NotFound
from brain.models import Mission
from brain.models.mission import FINAL_STATUSES
from brain.services import audit, execution
from brain.services.pagination import decode_cursor, encode_cursor


def get_mission(session: Session, mission_id: uuid.UUID, tenant: str | None = None) -> Mission:
    mission = session.get(Mission, mission_id)
    if mission is None or (tenant is not None and mission.tenant != tenant):
        raise NotFound(f"mission {mission_id} not found")
    return mission


def list_missions(session: Session, *, limit: int = 50, **filters: Any) -> tuple[Sequence[Row], str | None]:
    """A page of missions, newest first, by keyset on (created_at, id).

    Rows, not ORM objects: a page is only read and serialized, and loading 50 objects into
    the identity map costs more than the query.
    """
    rows = session.execute(mission_page_query(session, limit=limit, **filters)).all()
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def mission_page_query(
    session: Session,
    *,
    status: str | None = None,
    agent: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    tenant: str | None = None,
    tag: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
) -> Select:
    """The page's SELECT (one row more than `limit`, to know whether another page follows)."""
    query = select(Mission.__table__)
    if status:
        query = query.where(Mission.status == status)
    if agent:
        query = query.where(Mission.agent == agent)
    if tenant is not None:
        query = query.where(Mission.tenant == tenant)
    if tag:
        query = query.where(_has_tag(session, tag))
    if created_after:
        query = query.where(Mission.created_at >= created_after)
    if created_before:
        query = query.where(Mission.created_at < created_before)
    if cursor:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(Mission.created_at < when, and_(Mission.created_at == when, Mission.id < last_id)))
    return query.order_by(Mission.created_at.desc(), Mission.id.desc()).limit(limit + 1)


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """`tag` is among the mission's tags (a JSON list): containment on PostgreSQL, json_each on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Mission.tags, JSONB).contains([tag])
    return exists(
        select(literal(1))
        .select_from(func.json_each(Mission.tags).table_valued("value"))
        .where(literal_column("value") == tag)
    )


def cancel_mission(
    session: Session,
    mission_id: uuid.UUID,
    *,
    tenant: str | None = None,
    actor: str | None = None,
    settings: Settings | None = None,
) -> tuple[Mission, bool]:
    """Cancel a queued or running mission; returns (mission, was_running). Finished → Conflict."""
    mission = get_mission(session, mission_id, tenant)
    was = mission.status
    if was in FINAL_STATUSES:
        raise Conflict(f"mission {mission_id} already finished ({was}); it cannot be cancelled")
    now = utcnow()
    error = {"code": "cancelled", "message": "cancelled by request"}
    row = session.execute(
        update(Mission)
        .where(Mission.id == mission_id, Mission.status == was)
        .values(status="cancelled", finished_at=now, error=error)
        .returning(*execution.ENDED)
    ).first()
    if row is None:
        session.rollback()
        return cancel_mission(session, mission_id, tenant=tenant, actor=actor, settings=settings)
    audit.record(session, "mission.cancelled", mission_id, tenant=mission.tenant, actor=actor, data={"from": was})
    execution.ended(session, settings, mission_id, row, "cancelled", error=error)
    session.refresh(mission)
    return mission, was == "running"


def mark_dispatched(session: Session, mission_ids: Sequence[uuid.UUID], when: dt.datetime | None = None) -> None:
    session.execute(
        update(Mission)
        .where(Mission.id.in_(list(mission_ids)), Mission.status == "queued")
        .values(dispatched_at=when or utcnow())
    )


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Mission.status, func.count()).group_by(Mission.status)).all()
    return {status: count for status, count in rows}
