"""Mission lifecycle: create, read, list, cancel, and the compare-and-set state changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from brain.agents import PayloadInvalid, get_agent
from brain.config import Settings, get_settings
from brain.db import utcnow
from brain.errors import Conflict, IdempotencyConflict, InvalidMission, NotFound
from brain.governance import admission
from brain.models import Mission
from brain.models.mission import FINAL_STATUSES
from brain.rails import default_chain
from brain.services import audit
from brain.services.pagination import decode_cursor, encode_cursor


def request_hash(body: dict[str, Any]) -> str:
    """Hash of a submission's canonical JSON, to tell a retry from a different request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_agent_payload(agent_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    agent = get_agent(agent_name)
    if agent is None:
        raise InvalidMission(f"unknown agent {agent_name!r}", "agent", [f"Unknown agent {agent_name!r}."])
    try:
        return agent.validate(payload)
    except PayloadInvalid as exc:
        raise InvalidMission(f"agent {agent_name!r} rejects the payload", "payload", exc.messages) from None


def rail_options(body: dict[str, Any]) -> dict[str, Any]:
    """The rail options the submitter set (timeout_s has its own column)."""
    names = set(default_chain().option_fields) - {"timeout_s"}
    return {k: body[k] for k in sorted(names) if body.get(k) is not None}


def _by_idempotency_key(session: Session, tenant: str, key: str) -> Mission | None:
    return session.scalars(
        select(Mission).where(Mission.tenant == tenant, Mission.idempotency_key == key)
    ).first()


def _replay(existing: Mission, body_hash: str) -> Mission:
    if existing.request_hash != body_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body",
            mission_id=str(existing.id),
        )
    return existing


def create_mission(
    session: Session,
    body: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    tenant: str = "default",
    actor: str | None = None,
    settings: Settings | None = None,
) -> tuple[Mission, bool]:
    """Store a new mission (queued, or as the governor decides); returns (mission, created).

    Replays an idempotent retry. A denied mission is stored `rejected`: the caller answers 403.
    """
    settings = settings or get_settings()
    body_hash = request_hash(body)
    if idempotency_key:
        existing = _by_idempotency_key(session, tenant, idempotency_key)
        if existing is not None:
            return _replay(existing, body_hash), False
    payload = validate_agent_payload(body["agent"], body.get("payload") or {})
    now = utcnow()
    mission = Mission(
        id=uuid.uuid4(),
        tenant=tenant,
        name=body["name"],
        description=body.get("description"),
        agent=body["agent"],
        payload=payload,
        priority=body.get("priority", "NORMAL"),
        status="queued",
        attempts=0,
        timeout_s=body.get("timeout_s"),
        tags=list(body.get("tags") or []),
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        created_at=now,
        # Optimistic: the API publishes right after commit and clears this if that fails.
        dispatched_at=now,
        submitted_by=actor,
        options=rail_options(body),
        would_have=[],
    )
    decision = admission.admit(settings, mission)
    if not idempotency_key:
        audit.insert_at_commit(session, mission)  # written with its events, in one statement
    else:
        try:
            # Only a keyed request can race another one: isolate its insert in a savepoint.
            with session.begin_nested():
                session.add(mission)
                session.flush()
        except IntegrityError:
            # A concurrent request with the same key won the race.
            existing = _by_idempotency_key(session, tenant, idempotency_key)
            if existing is None:
                raise
            return _replay(existing, body_hash), False
    audit.record(session, "mission.created", mission.id, tenant=tenant, actor=actor,
                 data={"agent": mission.agent, "priority": mission.priority})
    admission.record(session, settings, mission, decision, actor)
    if mission.status == "queued":
        audit.record(session, "mission.queued", mission.id, tenant=tenant, actor=actor)
    return mission, True


def get_mission(session: Session, mission_id: uuid.UUID, tenant: str | None = None) -> Mission:
    mission = session.get(Mission, mission_id)
    if mission is None or (tenant is not None and mission.tenant != tenant):
        raise NotFound(f"mission {mission_id} not found")
    return mission


def list_missions(
    session: Session,
    *,
    status: str | None = None,
    agent: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    tenant: str | None = None,
) -> tuple[Sequence[Row], str | None]:
    """A page of missions, newest first, by keyset on (created_at, id).

    Rows, not ORM objects: a page is only read and serialized, and loading 50 objects into
    the identity map costs more than the query.
    """
    query = select(Mission.__table__)
    if status:
        query = query.where(Mission.status == status)
    if agent:
        query = query.where(Mission.agent == agent)
    if tenant is not None:
        query = query.where(Mission.tenant == tenant)
    if cursor:
        when, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Mission.created_at < when, and_(Mission.created_at == when, Mission.id < last_id))
        )
    query = query.order_by(Mission.created_at.desc(), Mission.id.desc()).limit(limit + 1)
    rows = session.execute(query).all()
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def cancel_mission(
    session: Session, mission_id: uuid.UUID, *, tenant: str | None = None, actor: str | None = None
) -> tuple[Mission, bool]:
    """Cancel a queued or running mission; returns (mission, was_running). Finished → Conflict."""
    mission = get_mission(session, mission_id, tenant)
    was = mission.status
    if was in FINAL_STATUSES:
        raise Conflict(f"mission {mission_id} already finished ({was}); it cannot be cancelled")
    now = utcnow()
    changed = session.execute(
        update(Mission)
        .where(Mission.id == mission_id, Mission.status == was)
        .values(status="cancelled", finished_at=now, error={"code": "cancelled", "message": "cancelled by request"})
    ).rowcount
    if not changed:
        session.rollback()
        return cancel_mission(session, mission_id, tenant=tenant, actor=actor)
    audit.record(session, "mission.cancelled", mission_id, tenant=mission.tenant, actor=actor,
                 data={"from": was})
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
