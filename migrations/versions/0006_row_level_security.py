"""row-level security: tenant policies on missions, events and approvals; the audit chain head; the brain_app role

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Spelled out (not imported) so this migration never changes when the code does.
TENANT_TABLES = ("missions", "events", "approvals")
APP_ROLE = "brain_app"
IN_SCOPE = "(tenant = current_setting('brain.tenant', true) OR current_setting('brain.tenant', true) = '*')"

# The chain's newest hash in a table of its own: the append function must read the head of the
# whole chain, and under row-level security a tenant's connection sees only its own events.
CHAIN_HEAD = """
CREATE TABLE audit_chain_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    event_id bigint,
    hash text NOT NULL
);
INSERT INTO audit_chain_head (id, event_id, hash)
SELECT 1, (SELECT id FROM events ORDER BY id DESC LIMIT 1),
       coalesce((SELECT hash FROM events ORDER BY id DESC LIMIT 1), repeat('0', 64));
"""

APPEND_EVENTS = """
CREATE OR REPLACE FUNCTION brain_append_events(
    p_type text[], p_mission uuid[], p_tenant text[], p_actor text[], p_data text[],
    p_created timestamp[], p_canonical bytea[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    digest text;
    last_id bigint;
BEGIN
    -- One chain writer at a time until commit; the head row's lock is that order.
    SELECT hash INTO prev FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_type, 1), 0) LOOP
        digest := encode(sha256(convert_to(prev, 'UTF8') || p_canonical[i]), 'hex');
        INSERT INTO events (type, mission_id, tenant, actor, data, created_at, prev_hash, hash)
        VALUES (p_type[i], p_mission[i], p_tenant[i], p_actor[i], p_data[i]::json, p_created[i], prev, digest)
        RETURNING id INTO last_id;
        prev := digest;
    END LOOP;
    IF last_id IS NOT NULL THEN
        UPDATE audit_chain_head SET hash = prev, event_id = last_id WHERE id = 1;
    END IF;
END $$;
"""

PREVIOUS_APPEND_EVENTS = """
CREATE OR REPLACE FUNCTION brain_append_events(
    p_type text[], p_mission uuid[], p_tenant text[], p_actor text[], p_data text[],
    p_created timestamp[], p_canonical bytea[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    digest text;
BEGIN
    PERFORM pg_advisory_xact_lock(108243400093281);
    SELECT hash INTO prev FROM events ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    FOR i IN 1 .. coalesce(array_length(p_type, 1), 0) LOOP
        digest := encode(sha256(convert_to(prev, 'UTF8') || p_canonical[i]), 'hex');
        INSERT INTO events (type, mission_id, tenant, actor, data, created_at, prev_hash, hash)
        VALUES (p_type[i], p_mission[i], p_tenant[i], p_actor[i], p_data[i]::json, p_created[i], prev, digest);
        prev := digest;
    END LOOP;
END $$;
"""

# The role the API and workers log in as (through a login role that is a member of it): it owns
# nothing, so it cannot turn row-level security off. Made here when the migrating user may
# create roles; otherwise an administrator creates it and runs the grants (README, "Database role").
APP_ROLE_AND_GRANTS = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role {APP_ROLE} not created (no CREATEROLE); create it and grant as the README says';
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        GRANT USAGE ON SCHEMA public TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE, DELETE ON missions, approvals, tenants, health_checks TO {APP_ROLE};
        GRANT SELECT, INSERT ON events TO {APP_ROLE};
        GRANT SELECT, UPDATE ON audit_chain_head TO {APP_ROLE};
        GRANT SELECT ON alembic_version TO {APP_ROLE};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
    END IF;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (minimal) is single-process and filters by tenant in the application
    op.execute(CHAIN_HEAD)
    op.execute(APPEND_EVENTS)
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {IN_SCOPE} WITH CHECK {IN_SCOPE}")
    op.execute(APP_ROLE_AND_GRANTS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(PREVIOUS_APPEND_EVENTS)
    op.execute("DROP TABLE audit_chain_head")
