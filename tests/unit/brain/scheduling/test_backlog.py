"""The backlog queries: tenants waiting, each tenant's serving order, admission once, admitted counts."""

from __future__ import annotations

import datetime as dt

from brain.db import session_scope, utcnow
from brain.models import Mission, Tenant
from brain.scheduling import backlog
from tests.unit.missions import stored_mission


def _tenant(url: str, tenant_id: str, status: str = "active") -> None:
    now = utcnow()
    with session_scope(url) as session:
        session.add(
            Tenant(
                id=tenant_id, name=tenant_id, plan="standard", status=status, limits={}, created_at=now, updated_at=now
            )
        )


def test_each_tenant_is_served_by_priority_then_age_and_deferred_ones_wait(database_url):
    base = utcnow() - dt.timedelta(minutes=5)
    old_normal = stored_mission(database_url, tenant="a", priority="NORMAL", created_at=base)
    new_critical = stored_mission(
        database_url, tenant="a", priority="CRITICAL", created_at=base + dt.timedelta(minutes=1)
    )
    low = stored_mission(database_url, tenant="a", priority="LOW", created_at=base - dt.timedelta(minutes=1))
    newer_normal = stored_mission(
        database_url, tenant="a", priority="NORMAL", created_at=base + dt.timedelta(minutes=2)
    )
    stored_mission(database_url, tenant="a", deferred_until=utcnow() + dt.timedelta(hours=1))
    stored_mission(database_url, tenant="a", dispatched_at=utcnow())  # admitted already
    with session_scope(database_url) as session:
        order = [row.id for row in backlog.next_of(session, "a", 10)]
        assert order == [new_critical, old_normal, newer_normal, low]
        assert [row.id for row in backlog.next_of(session, "a", 2)] == [new_critical, old_normal]


def test_tenants_waiting_leaves_out_tenants_that_are_not_active(database_url):
    _tenant(database_url, "held", status="suspended")
    for tenant in ("b", "a", "held", "a"):
        stored_mission(database_url, tenant=tenant)
    stored_mission(database_url, tenant="c", status="running", dispatched_at=utcnow())
    with session_scope(database_url) as session:
        assert backlog.tenants_waiting(session) == ["a", "b"]


def test_admission_moves_a_mission_once_and_counts_it_until_it_finishes(database_url):
    first = stored_mission(database_url, tenant="a")
    second = stored_mission(database_url, tenant="a")
    stored_mission(database_url, tenant="b", status="running", dispatched_at=utcnow())
    stored_mission(database_url, tenant="b", status="succeeded", dispatched_at=utcnow())
    with session_scope(database_url) as session:
        assert backlog.admit(session, [first]) == {first}
    with session_scope(database_url) as session:
        assert backlog.admit(session, [first, second]) == {second}  # a racing admission gets only what is left
        assert backlog.admitted_per_tenant(session) == {"a": 2, "b": 1}
        backlog.to_backlog(session, first, utcnow() + dt.timedelta(seconds=30))
    with session_scope(database_url) as session:
        row = session.get(Mission, first)
        assert row.dispatched_at is None and row.deferred_until > utcnow()
        assert backlog.admitted_per_tenant(session) == {"a": 1, "b": 1}
        assert backlog.next_of(session, "a", 5) == []  # deferred: in the backlog, not ready
