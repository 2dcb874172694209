"""Row-level security on PostgreSQL: the app's own role, scoped to tenant A, sees and writes nothing of B's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from brain.db import get_engine, read_scope, session_scope
from brain.models import Event, Mission
from brain.tenancy import scope
from brain.tenancy.scope import system_scope, tenant_scope

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_tenants(stack):
    """Tenants A and B, each with a finished mission (and its audit events) on the shared stack."""
    if stack.profile == "minimal":
        pytest.skip("SQLite (minimal) is single-tenant in practice and filters by tenant in the application")
    a, b = f"rls-a-{uuid.uuid4().hex[:6]}", f"rls-b-{uuid.uuid4().hex[:6]}"
    ids = {}
    for tenant in (a, b):
        resp = stack.request(
            "POST", "/api/missions", token=stack.token(tenant=tenant), json={"name": "rls", "agent": "echo"}
        )
        assert resp.status_code == 202, resp.text
        ids[tenant] = resp.json()["id"]
    for tenant, mission_id in ids.items():
        got = stack.request("GET", f"/api/missions/{mission_id}", token=stack.token(tenant=tenant))
        assert got.status_code == 200, got.text
    return stack, a, b, ids


def test_raw_sql_over_the_app_connection_sees_only_the_scoped_tenant(two_tenants):
    stack, a, b, ids = two_tenants
    engine = get_engine(stack.database_url)  # the role the API and workers log in as
    with tenant_scope(a), engine.connect() as conn:
        missions = conn.execute(text("SELECT id::text, tenant FROM missions")).all()
        events = conn.execute(text("SELECT DISTINCT tenant FROM events")).scalars().all()
        of_b = conn.execute(text("SELECT count(*) FROM missions WHERE tenant = :b"), {"b": b}).scalar()
        by_id = conn.execute(text("SELECT count(*) FROM missions WHERE id = :i"), {"i": ids[b]}).scalar()
        approvals = conn.execute(text("SELECT DISTINCT tenant FROM approvals")).scalars().all()
    assert missions == [(ids[a], a)]
    assert events == [a]
    assert (of_b, by_id) == (0, 0)
    assert set(approvals) <= {a}
    # Tenant B's own scope sees its row: the filter is the scope, not a missing row.
    with tenant_scope(b), engine.connect() as conn:
        assert conn.execute(text("SELECT tenant FROM missions")).scalars().all() == [b]


def test_a_query_that_forgets_its_tenant_filter_returns_only_the_scoped_tenant(two_tenants):
    stack, a, b, ids = two_tenants
    with tenant_scope(a):
        with read_scope(stack.database_url) as session:  # autocommit reads, as the API's listings
            listed = session.scalars(select(Mission)).all()
            found_b = session.get(Mission, uuid.UUID(ids[b]))
        with session_scope(stack.database_url) as session:
            tenants_of_events = set(session.scalars(select(Event.tenant)).all())
            count = session.scalar(select(func.count()).select_from(Mission))
    assert [(str(m.id), m.tenant) for m in listed] == [(ids[a], a)]
    assert found_b is None
    assert tenants_of_events == {a}
    assert count == 1
    # The same query in the system scope (the sweeper's) sees both.
    with system_scope("sweep"), read_scope(stack.database_url) as session:
        both = {m.tenant for m in session.scalars(select(Mission).where(Mission.tenant.in_((a, b))))}
    assert both == {a, b}


def test_writes_across_tenants_are_refused_or_touch_nothing(two_tenants):
    stack, a, b, ids = two_tenants
    engine = get_engine(stack.database_url)
    with tenant_scope(a), engine.begin() as conn:
        moved = conn.execute(text("UPDATE missions SET name = 'stolen' WHERE id = :i"), {"i": ids[b]}).rowcount
    assert moved == 0
    with tenant_scope(a), pytest.raises(ProgrammingError, match="row-level security"), engine.begin() as conn:
        conn.execute(text("UPDATE missions SET tenant = :b WHERE id = :i"), {"b": b, "i": ids[a]})
    with tenant_scope(a), pytest.raises(ProgrammingError, match="row-level security"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO approvals (id, mission_id, tenant, status, created_at, expires_at) "
                "VALUES (:id, :m, :b, 'pending', now(), now())"
            ),
            {"id": str(uuid.uuid4()), "m": ids[b], "b": b},
        )
    mine = stack.request("GET", f"/api/missions/{ids[a]}", token=stack.token(tenant=a))
    assert (mine.json()["tenant"], mine.json()["name"]) == (a, "rls")


def test_unscoped_work_sees_nothing_and_the_role_cannot_turn_security_off(two_tenants):
    stack, a, _b, _ids = two_tenants
    engine = create_engine(stack.database_url)
    scope.install(engine, multi_tenancy=True)
    try:
        with engine.connect() as conn:  # no scope stated: fails closed
            assert conn.execute(text("SELECT count(*) FROM missions")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
        with pytest.raises(ProgrammingError, match="must be owner"), engine.begin() as conn:
            conn.execute(text("ALTER TABLE missions DISABLE ROW LEVEL SECURITY"))
        with tenant_scope(a), pytest.raises(DBAPIError, match="row-level security"), engine.begin() as conn:
            conn.execute(text("SET row_security = off"))
            conn.execute(text("SELECT count(*) FROM missions")).scalar()
    finally:
        engine.dispose()


def test_the_audit_chain_stays_one_chain_across_tenants(two_tenants):
    stack, _a, _b, _ids = two_tenants
    verified = stack.brain("audit", "verify", check=False)
    assert verified.returncode == 0, verified.stderr
    engine = create_engine(stack.admin_database_url)
    try:
        with engine.connect() as conn:
            newest = conn.execute(text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).one()
            head = conn.execute(text("SELECT event_id, hash FROM audit_chain_head")).one()
    finally:
        engine.dispose()
    assert tuple(head) == tuple(newest)


@pytest.mark.parametrize("command", [("api",), ("worker", "--pool", "solo")])
def test_multi_tenant_processes_refuse_a_role_that_bypasses_security(two_tenants, command):
    stack, *_ = two_tenants
    env = {**stack.env, "BRAIN_DATABASE_URL": stack.admin_database_url, "BRAIN_API_PORT": "1"}
    out = stack.brain(*command, env=env, check=False, timeout=60)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "row-level security" in lines[0] and "superuser" in lines[0] and "brain_app" in lines[0]
    assert "Traceback" not in out.stderr
