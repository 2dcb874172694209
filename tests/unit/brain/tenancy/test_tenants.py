"""Tenant records on SQLite and PostgreSQL: lifecycle, audit events, held missions, the status cache."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from brain.config import load_settings
from brain.db import session_scope, utcnow
from brain.errors import Conflict, NotFound, TenantDeleted, TenantSuspended, TenantUnknown
from brain.models import Event, Mission
from brain.services import execution
from brain.tenancy import status, tenants
from tests.unit.missions import stored_mission


def _settings(url: str):
    return load_settings(
        {"BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": url, "BRAIN_REDIS_URL": "redis://127.0.0.1:1/0"}
    )


def _mission(url: str, tenant: str, status_: str = "queued", dispatched: bool = True) -> uuid.UUID:
    return stored_mission(url, status=status_, tenant=tenant, dispatched_at=utcnow() if dispatched else None)


def _tenant_events(url: str, tenant: str) -> list[tuple[str, str | None, dict]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(Event.type, Event.actor, Event.data)
            .where(Event.tenant == "default", Event.mission_id.is_(None), Event.type.like("tenant.%"))
            .order_by(Event.id)
        )
        # The platform's trail (tenant default) holds them; the data names the tenant changed.
        return [tuple(r) for r in rows if r.data.get("tenant") == tenant]


def test_the_default_tenant_exists_after_migrations_and_cannot_be_suspended_or_deleted(database_url):
    with session_scope(database_url) as session:
        shown = tenants.describe(tenants.get(session, "default"))
    assert (shown["status"], shown["plan"]) == ("active", "enterprise")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.suspend(session, "default", "no")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.delete(session, "default")


def test_lifecycle_each_change_recorded(database_url):
    with session_scope(database_url) as session:
        tenants.create(session, "acme", "Acme", plan="free", limits={"running_max": 5}, actor="root")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.create(session, "acme", "Acme again")
    with session_scope(database_url) as session:
        shown = tenants.describe(tenants.get(session, "acme"))
    # the plan's limits with the tenant's override on top; the plan's weight
    assert shown["weight"] == 1 and shown["limits"]["running_max"] == 5 and shown["limits"]["tokens_per_day"] == 100_000
    assert shown["overrides"] == {"weight": None, "limits": {"running_max": 5}}

    with session_scope(database_url) as session:
        tenants.update_tenant(
            session, "acme", {"plan": "standard", "weight": 7, "limits": {"running_max": None}}, actor="root"
        )
    with session_scope(database_url) as session:
        shown = tenants.describe(tenants.get(session, "acme"))
    assert (shown["plan"], shown["weight"], shown["limits"]["running_max"]) == ("standard", 7, 20)

    with session_scope(database_url) as session:
        tenants.suspend(session, "acme", "unpaid invoice", actor="root")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.suspend(session, "acme", "twice")
    with session_scope(database_url) as session:
        found = tenants.get(session, "acme")
        assert (found.status, found.suspended_reason) == ("suspended", "unpaid invoice")
        tenants.resume(session, _settings(database_url), "acme", actor="root")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.resume(session, _settings(database_url), "acme")

    with session_scope(database_url) as session:
        tenants.delete(session, "acme", actor="root")
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.update_tenant(session, "acme", {"name": "back"})
    with session_scope(database_url) as session, pytest.raises(Conflict):
        tenants.create(session, "acme", "reuse")  # ids are never reused
    with session_scope(database_url) as session, pytest.raises(NotFound):
        tenants.get(session, "nobody")

    events = _tenant_events(database_url, "acme")
    assert [e[0] for e in events] == [
        "tenant.created",
        "tenant.updated",
        "tenant.suspended",
        "tenant.resumed",
        "tenant.deleted",
    ]
    assert all(actor == "root" for _, actor, _ in events)
    assert events[1][2]["changes"]["weight"] == {"from": None, "to": 7}
    assert events[2][2]["reason"] == "unpaid invoice"


def test_delete_is_refused_while_missions_are_not_final(database_url):
    with session_scope(database_url) as session:
        tenants.create(session, "busy", "Busy")
    mid = _mission(database_url, "busy", "running")
    with session_scope(database_url) as session, pytest.raises(Conflict, match="1 mission"):
        tenants.delete(session, "busy")
    with session_scope(database_url) as session:
        execution.finish(session, session.get(Mission, mid), "succeeded")
    with session_scope(database_url) as session:
        assert tenants.delete(session, "busy").status == "deleted"


def test_a_suspended_tenants_missions_are_held_and_released_on_resume(database_url):
    with session_scope(database_url) as session:
        tenants.create(session, "held", "Held")
        tenants.create(session, "other", "Other")
    queued = _mission(database_url, "held")
    running = _mission(database_url, "held", "running")
    neighbour = _mission(database_url, "other")
    with session_scope(database_url) as session:
        tenants.suspend(session, "held", "audit")

    with session_scope(database_url) as session:
        assert execution.claim(session, queued, "w1") is None
        assert execution.hold(session, queued, "w1")
    with session_scope(database_url) as session:
        assert execution.claim(session, neighbour, "w1") is not None  # other tenants run on
        assert not execution.hold(session, running, "w1")  # running missions are left to finish
        mission = session.get(Mission, queued)
        assert (mission.status, mission.dispatched_at) == ("queued", None)
        # the sweeper does not publish a held mission again
        assert queued not in {m.id for m in execution.undispatched(session, utcnow())}
        event = session.execute(select(Event.type, Event.data).where(Event.mission_id == queued)).one()
        assert tuple(event) == ("mission.held", {"reason": "tenant_suspended"})

    with session_scope(database_url) as session:
        tenants.resume(session, _settings(database_url), "held")
    with session_scope(database_url) as session:
        # Published again, or (no broker reachable from this process) left to the sweeper, which now takes it.
        published = session.get(Mission, queued).dispatched_at is not None
        assert published or queued in {m.id for m in execution.undispatched(session, utcnow())}
    assert _tenant_events(database_url, "held")[-1][2]["released_missions"] == 1
    with session_scope(database_url) as session:
        assert execution.claim(session, queued, "w2") is not None


def test_missions_of_tenants_without_a_record_are_not_held(database_url):
    mid = _mission(database_url, "legacy")  # from before tenant records (or single-tenant)
    with session_scope(database_url) as session:
        assert execution.claim(session, mid, "w1") is not None


def test_require_active_names_each_refusal(database_url):
    with session_scope(database_url) as session:
        tenants.create(session, "s", "S")
        tenants.create(session, "d", "D")
        tenants.suspend(session, "s", "fraud check")
        tenants.delete(session, "d")
    status.forget()
    status.require_active(database_url, "default")
    with pytest.raises(TenantSuspended, match="fraud check"):
        status.require_active(database_url, "s")
    with pytest.raises(TenantDeleted):
        status.require_active(database_url, "d")
    with pytest.raises(TenantUnknown):
        status.require_active(database_url, "ghost")


def test_the_status_cache_is_fresh_within_its_bound(database_url, monkeypatch):
    with session_scope(database_url) as session:
        tenants.create(session, "c", "C")
    status.forget()
    clock = [1000.0]
    monkeypatch.setattr(status.time, "monotonic", lambda: clock[0])
    status.require_active(database_url, "c")
    with session_scope(database_url) as session:
        tenants.suspend(session, "c", "now")
    clock[0] += status.CACHE_S  # another process's change is seen once the entry is CACHE_S old
    with pytest.raises(TenantSuspended):
        status.require_active(database_url, "c")


def test_resume_without_publishing_leaves_the_held_missions_to_the_sweeper(database_url):
    with session_scope(database_url) as session:
        tenants.create(session, "quiet", "Quiet")
    mid = _mission(database_url, "quiet")
    with session_scope(database_url) as session:
        tenants.suspend(session, "quiet", "pause")
    with session_scope(database_url) as session:
        assert execution.hold(session, mid, "w1")
    with session_scope(database_url) as session:
        assert mid not in {m.id for m in execution.undispatched(session, utcnow())}
        tenants.resume(session, _settings(database_url), "quiet", publish=False)
    with session_scope(database_url) as session:
        assert session.get(Mission, mid).dispatched_at is None
        assert mid in {m.id for m in execution.undispatched(session, utcnow())}
