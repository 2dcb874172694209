"""audit append function: chain and insert a transaction's events in one statement (PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The chain lock key is brain.services.audit.CHAIN_LOCK_KEY ("braina"); spelled out here so the
# migration never changes when the code does.
APPEND_EVENTS = """
CREATE OR REPLACE FUNCTION brain_append_events(
    p_type text[], p_mission uuid[], p_tenant text[], p_actor text[], p_data text[],
    p_created timestamp[], p_canonical bytea[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    digest text;
BEGIN
    -- One chain writer at a time until commit. Each statement below takes a fresh snapshot,
    -- so the predecessor read after the lock is the newest committed event, and ids drawn
    -- after the lock keep id order equal to chain order.
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_EVENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS brain_append_events(text[], uuid[], text[], text[], text[], timestamp[], bytea[])"
        )
