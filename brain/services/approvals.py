"""Human approvals of held missions: request, approve, reject, expire (each a compare-and-set)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from brain.config import Settings
from brain.db import session_scope, utcnow
from brain.errors import Conflict, NotFound, PolicyDenied
from brain.models import Mission
from brain.models.approval import Approval
from brain.publisher import publish_after_commit
from brain.services import audit, execution
from brain.services.pagination import decode_cursor, encode_cursor


class SelfApproval(PolicyDenied):
    """The submitter of a mission may not approve it."""

    error = "self_approval_forbidden"


def request(
    session: Session, settings: Settings, mission: Mission, rule_id: str | None, actor: str | None = None
) -> Approval:
    """Open the approval a mission in `awaiting_approval` waits for."""
    now = utcnow()
    approval = Approval(
        id=uuid.uuid4(),
        mission_id=mission.id,
        tenant=mission.tenant,
        status="pending",
        rule_id=rule_id,
        requested_by=actor,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.approval_ttl_s),
    )
    audit.insert_at_commit(session, approval)
    audit.record(
        session,
        "approval.requested",
        mission.id,
        tenant=mission.tenant,
        actor=actor,
        data={"approval_id": str(approval.id), "rule_id": rule_id, "expires_at": approval.expires_at.isoformat()},
    )
    return approval


def get_approval(session: Session, approval_id: uuid.UUID, tenant: str | None = None) -> Approval:
    approval = session.get(Approval, approval_id)
    if approval is None or (tenant is not None and approval.tenant != tenant):
        raise NotFound(f"approval {approval_id} not found")
    return approval


def list_approvals(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    tenant: str | None = None,
) -> tuple[Sequence[Approval], str | None]:
    """A page of approvals, newest first, by keyset on (created_at, id)."""
    query = select(Approval)
    if status:
        query = query.where(Approval.status == status)
    if tenant is not None:
        query = query.where(Approval.tenant == tenant)
    if cursor:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(Approval.created_at < when, and_(Approval.created_at == when, Approval.id < last_id)))
    rows = session.scalars(query.order_by(Approval.created_at.desc(), Approval.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _ensure_pending(approval: Approval) -> None:
    if approval.status != "pending":
        raise Conflict(
            f"approval {approval.id} was already decided ({approval.status})",
            status=approval.status,
            decided_by=approval.decided_by,
        )
    if approval.expires_at <= utcnow():
        raise Conflict(f"approval {approval.id} expired at {approval.expires_at.isoformat()}", status="expired")


def _decide(session: Session, approval: Approval, status: str, approver: str | None, reason: str | None) -> None:
    """pending → status, once: a second decision (or one racing this) is a Conflict."""
    _ensure_pending(approval)
    changed = session.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.status == "pending")
        .values(status=status, decided_by=approver, reason=reason, decided_at=utcnow())
    ).rowcount
    if not changed:
        raise Conflict(f"approval {approval.id} was already decided")
    session.refresh(approval)


def approve(
    session: Session,
    settings: Settings,
    approval_id: uuid.UUID,
    approver: str | None,
    reason: str | None = None,
    tenant: str | None = None,
) -> tuple[Approval, Mission]:
    """Grant: the mission becomes queued, and is published once this transaction commits."""
    approval = get_approval(session, approval_id, tenant)
    mission = session.get(Mission, approval.mission_id)
    _ensure_pending(approval)  # deciding twice is a conflict whoever asks
    if approver and mission is not None and mission.submitted_by and approver == mission.submitted_by:
        raise SelfApproval("the submitter of a mission may not approve it", approver=approver)
    _decide(session, approval, "approved", approver, reason)
    session.execute(
        update(Mission)
        .where(Mission.id == approval.mission_id, Mission.status == "awaiting_approval")
        .values(status="queued", dispatched_at=utcnow())
    )
    data = {"approval_id": str(approval.id), "reason": reason}
    audit.record(session, "approval.granted", approval.mission_id, tenant=approval.tenant, actor=approver, data=data)
    audit.record(session, "mission.queued", approval.mission_id, tenant=approval.tenant, actor=approver)
    session.refresh(mission)
    if mission.status == "queued":
        publish_after_commit(session, settings, mission)
    return approval, mission


def reject(
    session: Session,
    approval_id: uuid.UUID,
    approver: str | None,
    reason: str,
    tenant: str | None = None,
    settings: Settings | None = None,
) -> tuple[Approval, Mission]:
    """Refuse: the mission ends `rejected` without ever being published."""
    approval = get_approval(session, approval_id, tenant)
    _decide(session, approval, "rejected", approver, reason)
    _reject_mission(session, approval, {"code": "approval_rejected", "message": reason}, approver, settings)
    audit.record(
        session,
        "approval.rejected",
        approval.mission_id,
        tenant=approval.tenant,
        actor=approver,
        data={"approval_id": str(approval.id), "reason": reason},
    )
    return approval, session.get(Mission, approval.mission_id)


def _reject_mission(
    session: Session, approval: Approval, error: dict, actor: str | None, settings: Settings | None
) -> None:
    row = session.execute(
        update(Mission)
        .where(Mission.id == approval.mission_id, Mission.status == "awaiting_approval")
        .values(status="rejected", finished_at=utcnow(), error=error)
        .returning(*execution.ENDED)
    ).first()
    if row is not None:
        audit.record(
            session,
            "mission.rejected",
            approval.mission_id,
            tenant=approval.tenant,
            actor=actor,
            data={"reason": error["message"], "approval_id": str(approval.id)},
        )
        execution.ended(session, settings, approval.mission_id, row, "rejected", error=error)


def expire_due(
    session: Session, now: dt.datetime | None = None, limit: int = 500, settings: Settings | None = None
) -> int:
    """Pending approvals past their expiry → expired, and their missions → rejected (reason `expired`)."""
    now = now or utcnow()
    due = session.scalars(
        select(Approval).where(Approval.status == "pending", Approval.expires_at <= now).limit(limit)
    ).all()
    expired = 0
    for approval in due:
        changed = session.execute(
            update(Approval)
            .where(Approval.id == approval.id, Approval.status == "pending")
            .values(status="expired", reason="expired", decided_at=now)
        ).rowcount
        if not changed:
            continue
        expired += 1
        _reject_mission(session, approval, {"code": "expired", "message": "expired"}, None, settings)
        audit.record(
            session,
            "approval.expired",
            approval.mission_id,
            tenant=approval.tenant,
            data={"approval_id": str(approval.id), "reason": "expired"},
        )
    return expired


def sweep_expired(settings: Settings) -> int:
    """The sweeper's entry point."""
    with session_scope(settings.database_url) as session:
        return expire_due(session, settings=settings)
