"""The backlog in the database: queued missions not yet handed to the broker, per tenant, and what is admitted.

A queued mission with `dispatched_at` NULL waits in its tenant's backlog (ready once any
`deferred_until` has passed); the dispatcher admits it by setting `dispatched_at` and
publishing it. Admitted and not finished: `running`, or `queued` with `dispatched_at` set
(in the broker, or prefetched by a worker). Both sets have a partial index of their own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Row, and_, case, func, or_, select, text, union_all, update
from sqlalchemy.orm import Session

from brain.db import utcnow
from brain.models import Mission, Tenant
from brain.models.mission import PRIORITIES

SERVED_FIRST = ("CRITICAL", "HIGH", "NORMAL", "LOW")
assert set(SERVED_FIRST) == set(PRIORITIES)

IN_BACKLOG = and_(Mission.status == "queued", Mission.dispatched_at.is_(None))
ADMITTED = or_(Mission.status == "running", and_(Mission.status == "queued", Mission.dispatched_at.is_not(None)))

# Distinct tenants with a backlog, one index probe per tenant (a skip scan), not one row per mission.
_BACKLOG_TENANTS = text(
    """
    WITH RECURSIVE t(tenant) AS (
        SELECT min(tenant) FROM missions WHERE status = 'queued' AND dispatched_at IS NULL
        UNION ALL
        SELECT (SELECT min(m.tenant) FROM missions m
                WHERE m.status = 'queued' AND m.dispatched_at IS NULL AND m.tenant > t.tenant)
        FROM t WHERE t.tenant IS NOT NULL
    )
    SELECT tenant FROM t WHERE tenant IS NOT NULL
    """
)

CANDIDATE_COLUMNS = (
    Mission.id,
    Mission.tenant,
    Mission.agent,
    Mission.priority,
    Mission.timeout_s,
    Mission.options,
    Mission.created_at,
    Mission.request_id,
)


def tenants_waiting(session: Session) -> list[str]:
    """Tenants with missions in the backlog whose tenant is active (held missions wait for resume)."""
    waiting = list(session.scalars(_BACKLOG_TENANTS))
    if not waiting:
        return []
    inactive = set(session.scalars(select(Tenant.id).where(Tenant.id.in_(waiting), Tenant.status != "active")))
    return [t for t in waiting if t not in inactive]


def admitted_per_tenant(session: Session) -> dict[str, int]:
    """Missions admitted and not finished, per tenant."""
    rows = session.execute(select(Mission.tenant, func.count()).where(ADMITTED).group_by(Mission.tenant)).all()
    return {tenant: int(n) for tenant, n in rows}


def next_of(session: Session, tenant: str, limit: int, now: dt.datetime | None = None) -> list[Row]:
    """The tenant's next `limit` ready missions: by priority, then oldest first."""
    now = now or utcnow()
    ready = or_(Mission.deferred_until.is_(None), Mission.deferred_until <= now)
    # One index range per priority (tenant, priority, created_at), instead of sorting the whole backlog.
    parts = [
        select(
            *CANDIDATE_COLUMNS, case(*((Mission.priority == p, i) for i, p in enumerate(SERVED_FIRST))).label("rank")
        )
        .where(IN_BACKLOG, ready, Mission.tenant == tenant, Mission.priority == priority)
        .order_by(Mission.created_at)
        .limit(limit)
        for priority in SERVED_FIRST
    ]
    merged = union_all(*(part.subquery().select() for part in parts)).subquery()
    return list(session.execute(select(merged).order_by(merged.c.rank, merged.c.created_at).limit(limit)).all())


def admit(session: Session, mission_ids: Sequence[uuid.UUID], now: dt.datetime | None = None) -> set[uuid.UUID]:
    """Backlog → admitted, for those still in the backlog (a dispatcher that lost its lease may race)."""
    if not mission_ids:
        return set()
    moved = session.execute(
        update(Mission)
        .where(Mission.id.in_(list(mission_ids)), IN_BACKLOG)
        .values(dispatched_at=now or utcnow())
        .returning(Mission.id)
    )
    return set(moved.scalars())


def to_backlog(session: Session, mission_id: uuid.UUID, not_before: dt.datetime | None) -> None:
    """A queued mission goes (back) to its tenant's backlog, ready at `not_before` (None: now)."""
    values: dict = {"dispatched_at": None}
    if not_before is not None:
        values["deferred_until"] = not_before
    session.execute(update(Mission).where(Mission.id == mission_id, Mission.status == "queued").values(**values))
