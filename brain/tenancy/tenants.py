"""Tenant records: create, change, suspend, resume, delete; every change is an audit event.

The API's admin routes and `brain tenants` both call these, so a change made either way is
the same change, recorded the same way.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from brain.config import Settings
from brain.db import utcnow
from brain.errors import Conflict, InvalidMission, NotFound
from brain.models import Mission, Tenant
from brain.models.mission import FINAL_STATUSES
from brain.publisher import publish_after_commit
from brain.services import audit
from brain.services.missions import mark_dispatched
from brain.tenancy import plans

DEFAULT = "default"
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _event(session: Session, type_: str, tenant: str, actor: str | None, data: dict[str, Any]) -> None:
    # The platform's own trail (tenant `default`, where its administrators are); data names the tenant.
    audit.record(session, type_, tenant=DEFAULT, actor=actor, data={"tenant": tenant, **data})


def get(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    return tenant


def _live(session: Session, tenant_id: str) -> Tenant:
    """The tenant, locked for this change; a deleted one can no longer change."""
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    if tenant.status == "deleted":
        raise Conflict(f"tenant {tenant_id!r} is deleted")
    return tenant


def create(
    session: Session,
    tenant_id: str,
    name: str,
    *,
    plan: str = "standard",
    weight: int | None = None,
    limits: dict[str, Any] | None = None,
    actor: str | None = None,
) -> Tenant:
    """A new active tenant; an id once used (even deleted) is never given out again."""
    if session.get(Tenant, tenant_id) is not None:
        raise Conflict(f"tenant {tenant_id!r} already exists")
    now = utcnow()
    tenant = Tenant(
        id=tenant_id,
        name=name,
        plan=plan,
        status="active",
        weight=weight,
        limits=dict(limits or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(tenant)
    session.flush()  # a concurrent create of the same id fails here, before the event is queued
    _event(
        session,
        "tenant.created",
        tenant_id,
        actor,
        {"name": name, "plan": plan, "weight": weight, "limits": limits or {}},
    )
    return tenant


def list_tenants(
    session: Session, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[Tenant], str | None]:
    """Tenants by id, `limit` at a time; the cursor is the last id seen."""
    query = select(Tenant).order_by(Tenant.id).limit(limit + 1)
    if status:
        query = query.where(Tenant.status == status)
    if cursor:
        query = query.where(Tenant.id > _decode(cursor))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode(rows[-1].id) if more else None)


def update_tenant(session: Session, tenant_id: str, changes: dict[str, Any], actor: str | None = None) -> Tenant:
    """Change name, plan, weight or limit overrides (a limit set to null falls back to the plan's)."""
    tenant = _live(session, tenant_id)
    recorded: dict[str, Any] = {}
    for field in ("name", "plan", "weight"):
        if field in changes and changes[field] != getattr(tenant, field):
            recorded[field] = {"from": getattr(tenant, field), "to": changes[field]}
            setattr(tenant, field, changes[field])
    if "limits" in changes:
        limits = dict(tenant.limits or {})
        for key, value in changes["limits"].items():
            if value is None:
                limits.pop(key, None)
            else:
                limits[key] = value
        if limits != (tenant.limits or {}):
            recorded["limits"] = {"from": tenant.limits or {}, "to": limits}
            tenant.limits = limits
    if recorded:
        tenant.updated_at = utcnow()
        _event(session, "tenant.updated", tenant_id, actor, {"changes": recorded})
    return tenant


def suspend(session: Session, tenant_id: str, reason: str, actor: str | None = None) -> Tenant:
    """active → suspended: its calls are refused and its queued missions held; running ones finish."""
    _not_default(tenant_id, "suspended")
    tenant = _live(session, tenant_id)
    if tenant.status == "suspended":
        raise Conflict(f"tenant {tenant_id!r} is already suspended")
    tenant.status, tenant.suspended_reason, tenant.updated_at = "suspended", reason, utcnow()
    _event(session, "tenant.suspended", tenant_id, actor, {"reason": reason})
    return tenant


def resume(
    session: Session, settings: Settings, tenant_id: str, actor: str | None = None, *, publish: bool = True
) -> Tenant:
    """suspended → active; the missions held meanwhile are published again (or, without `publish`, by the sweeper)."""
    tenant = _live(session, tenant_id)
    if tenant.status != "suspended":
        raise Conflict(f"tenant {tenant_id!r} is not suspended")
    tenant.status, tenant.suspended_reason, tenant.updated_at = "active", None, utcnow()
    held = list(
        session.scalars(
            select(Mission).where(
                Mission.tenant == tenant_id, Mission.status == "queued", Mission.dispatched_at.is_(None)
            )
        )
    )
    if held and publish:
        mark_dispatched(session, [m.id for m in held])
        for mission in held:
            publish_after_commit(session, settings, mission, reason="tenant_resumed")
    _event(session, "tenant.resumed", tenant_id, actor, {"released_missions": len(held)})
    return tenant


def delete(session: Session, tenant_id: str, actor: str | None = None) -> Tenant:
    """Mark deleted (its tokens are refused from then on); refused while it has missions not final."""
    _not_default(tenant_id, "deleted")
    tenant = _live(session, tenant_id)
    open_missions = session.scalar(
        select(func.count())
        .select_from(Mission)
        .where(Mission.tenant == tenant_id, Mission.status.not_in(FINAL_STATUSES))
    )
    if open_missions:
        raise Conflict(
            f"tenant {tenant_id!r} has {open_missions} mission(s) not final; cancel them or let them finish first",
            open_missions=open_missions,
        )
    tenant.status, tenant.updated_at = "deleted", utcnow()
    _event(session, "tenant.deleted", tenant_id, actor, {})
    return tenant


def describe(tenant: Tenant) -> dict[str, Any]:
    """The tenant as the API and CLI show it: its own overrides and what it effectively runs with."""
    weight, limits = plans.effective(tenant.plan, tenant.weight, tenant.limits or {})
    return {
        "id": tenant.id,
        "name": tenant.name,
        "plan": tenant.plan,
        "status": tenant.status,
        "suspended_reason": tenant.suspended_reason,
        "weight": weight,
        "limits": limits,
        "overrides": {"weight": tenant.weight, "limits": tenant.limits or {}},
        "created_at": tenant.created_at,
        "updated_at": tenant.updated_at,
    }


def _not_default(tenant_id: str, what: str) -> None:
    if tenant_id == DEFAULT:
        raise Conflict(f"tenant {DEFAULT!r} holds the platform's administrators and cannot be {what}")


def _encode(tenant_id: str) -> str:
    return base64.urlsafe_b64encode(tenant_id.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidMission("invalid cursor", "cursor", ["Not a cursor returned by this API."], "query") from None
