"""Worker-side state changes of a mission, each a compare-and-set on its status."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from brain.config import Settings, get_settings
from brain.db import utcnow
from brain.models import Mission, Tenant
from brain.services import audit

_T = Mission.__table__
_TENANTS = Tenant.__table__
# A suspended (or deleted) tenant's missions are not claimed: they stay queued, held until resume.
_TENANT_ACTIVE = ~exists().where(_TENANTS.c.id == _T.c.tenant, _TENANTS.c.status != "active")
# Built once: the hot path runs it per mission, and a Core statement on the table skips the
# ORM's bulk-update machinery (session synchronisation, per-call statement construction).
_CLAIM = (
    _T.update()
    .where(_T.c.id == bindparam("mid"), _T.c.status == "queued", _TENANT_ACTIVE)
    .values(status="running", attempts=_T.c.attempts + 1, started_at=bindparam("now"), worker=bindparam("worker"))
    .returning(*_T.c)
)


_HOLD = (
    _T.update()
    .where(_T.c.id == bindparam("mid"), _T.c.status == "queued", ~_TENANT_ACTIVE)
    .values(dispatched_at=None)
    .returning(_T.c.tenant)
)


def claim(session: Session, mission_id: uuid.UUID, worker: str) -> Mission | None:
    """queued → running (attempts + 1). None if the mission is not queued (a duplicate message) or is held."""
    row = session.execute(_CLAIM, {"mid": mission_id, "now": utcnow(), "worker": worker}).first()
    if row is None:
        return None
    # A plain (transient) instance holding the row as updated: callers only read it.
    mission = Mission(**row._mapping)
    audit.record(
        session, "mission.started", mission_id, tenant=mission.tenant, actor=worker, data={"attempt": mission.attempts}
    )
    return mission


def hold(session: Session, mission_id: uuid.UUID, worker: str) -> bool:
    """A queued mission of a tenant that is not active waits unpublished; resuming the tenant publishes it."""
    tenant = session.execute(_HOLD, {"mid": mission_id}).scalar()
    if tenant is None:
        return False
    audit.record(session, "mission.held", mission_id, tenant=tenant, actor=worker, data={"reason": "tenant_suspended"})
    return True


# What every move to a final status returns: the pipeline node it runs for, and when it started.
ENDED = (_T.c.pipeline_node_id, _T.c.started_at)


def ended(
    session: Session,
    settings: Settings | None,
    mission_id: uuid.UUID,
    row: Any,
    status: str,
    result: Any = None,
    error: dict[str, Any] | None = None,
) -> None:
    """A mission reached a final status (`row` holds ENDED): its pipeline run advances in this transaction."""
    if row.pipeline_node_id is None:
        return
    from brain.pipelines import scheduler  # the scheduler submits missions, which leads back here

    scheduler.node_mission_ended(
        session, settings or get_settings(), row.pipeline_node_id, mission_id, status, result, error, row.started_at
    )


def finish(
    session: Session,
    mission: Mission,
    status: str,
    *,
    result: Any = None,
    error: dict[str, Any] | None = None,
    attempt: int | None = None,
    usage: dict[str, Any] | None = None,
    would_have: list[str] | None = None,
    settings: Settings | None = None,
) -> bool:
    """running → final status, only for the attempt that owns it; False if someone else moved it.

    `settings` (the process's own when not given) are what a pipeline run it belongs to advances with.
    """
    values: dict[str, Any] = {"status": status, "result": result, "error": error, "finished_at": utcnow()}
    if usage is not None:
        values["usage"] = usage
    if would_have:
        values["would_have"] = list(would_have)
    params = {"mid": mission.id, "attempt": attempt, **{f"v_{k}": v for k, v in values.items()}}
    row = session.execute(_finish_statement(attempt is not None, tuple(values)), params).first()
    if row is not None:
        for key, value in values.items():
            set_committed_value(mission, key, value)  # as the ORM's own UPDATE would have synchronised it
        data: dict[str, Any] = {"attempt": attempt or mission.attempts}
        if error:
            data["error"] = error
        if usage:
            data["usage"] = usage
        if would_have:
            data["would_have"] = list(would_have)
        audit.record(session, f"mission.{status}", mission.id, tenant=mission.tenant, data=data)
        ended(session, settings, mission.id, row, status, result, error)
    return row is not None


_finish_statements: dict[tuple[bool, tuple[str, ...]], Any] = {}


def _finish_statement(by_attempt: bool, columns: tuple[str, ...]) -> Any:
    """finish()'s UPDATE for one shape of arguments, built once (a handful of shapes exist)."""
    key = (by_attempt, columns)
    stmt = _finish_statements.get(key)
    if stmt is None:
        stmt = _T.update().where(_T.c.id == bindparam("mid"), _T.c.status == "running")
        if by_attempt:
            stmt = stmt.where(_T.c.attempts == bindparam("attempt"))
        stmt = stmt.values({c: bindparam(f"v_{c}") for c in columns}).returning(*ENDED)
        _finish_statements[key] = stmt
    return stmt


def _back_to_queued(session: Session, mission: Mission, **values: Any) -> bool:
    """running → queued, only from the attempt this process ran (another may have taken it over)."""
    return bool(
        session.execute(
            update(Mission)
            .where(Mission.id == mission.id, Mission.status == "running", Mission.attempts == mission.attempts)
            .values(status="queued", **values)
        ).rowcount
    )


def requeue(session: Session, mission: Mission, reason: str) -> bool:
    """running → queued after its worker was lost, so the sweeper can publish it again."""
    changed = _back_to_queued(session, mission, dispatched_at=None, worker=None)
    if changed:
        audit.record(
            session,
            "mission.retried",
            mission.id,
            tenant=mission.tenant,
            data={"reason": reason, "attempt": mission.attempts},
        )
    return bool(changed)


def defer(session: Session, mission: Mission, until: dt.datetime, would_have: list[str], reason: str = "") -> bool:
    """running → queued without using up an attempt: a rail asked to try again at `until`."""
    changed = _back_to_queued(
        session,
        mission,
        attempts=Mission.attempts - 1,
        deferred_until=until,
        dispatched_at=until,
        worker=None,
        started_at=None,
        would_have=list(would_have),
    )
    if changed:
        data = {"until": until.isoformat(), "reason": reason} if reason else {"until": until.isoformat()}
        audit.record(session, "mission.deferred", mission.id, tenant=mission.tenant, data=data)
    return bool(changed)


def retry(
    session: Session,
    mission: Mission,
    error: dict[str, Any] | None,
    usage: dict[str, Any] | None,
    would_have: list[str],
    delay_s: float,
) -> bool:
    """running → queued for another attempt after a retryable agent error."""
    due = utcnow() + dt.timedelta(seconds=delay_s)
    changed = _back_to_queued(
        session, mission, dispatched_at=due, worker=None, error=error, usage=usage, would_have=list(would_have)
    )
    if changed:
        audit.record(
            session,
            "mission.retried",
            mission.id,
            tenant=mission.tenant,
            data={
                "reason": "retryable_error",
                "attempt": mission.attempts,
                "delay_s": round(delay_s, 3),
                "error": error,
            },
        )
    return bool(changed)


def clear_dispatched(session: Session, mission_id: uuid.UUID) -> None:
    """Mark a queued mission as not published, so the sweeper publishes it."""
    session.execute(
        update(Mission).where(Mission.id == mission_id, Mission.status == "queued").values(dispatched_at=None)
    )


def running_started_before(session: Session, before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(
        session.scalars(select(Mission).where(Mission.status == "running", Mission.started_at < before).limit(limit))
    )


def undispatched(session: Session, created_before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(
        session.scalars(
            select(Mission)
            .where(
                Mission.status == "queued",
                Mission.dispatched_at.is_(None),
                Mission.created_at < created_before,
                _TENANT_ACTIVE,  # held missions wait for their tenant's resume
            )
            .order_by(Mission.created_at)
            .limit(limit)
        )
    )


def dispatched_before(session: Session, before: dt.datetime, limit: int = 500) -> list[Mission]:
    return list(
        session.scalars(
            select(Mission)
            .where(Mission.status == "queued", Mission.dispatched_at < before, _TENANT_ACTIVE)
            .order_by(Mission.created_at)
            .limit(limit)
        )
    )
