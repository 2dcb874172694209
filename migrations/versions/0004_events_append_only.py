"""events append-only: triggers refuse UPDATE, DELETE and TRUNCATE of audit events

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PG_UP = """
CREATE OR REPLACE FUNCTION brain_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION brain_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION brain_events_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS events_no_truncate ON events;
DROP TRIGGER IF EXISTS events_append_only ON events;
DROP FUNCTION IF EXISTS brain_events_append_only();
"""
# SQLite links a transaction's events after inserting them (hash NULL → its hash), so an
# update is refused only once a row is chained.
SQLITE_UP = (
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events WHEN OLD.hash IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END",
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END",
)
SQLITE_DOWN = ("DROP TRIGGER IF EXISTS events_append_only_update", "DROP TRIGGER IF EXISTS events_append_only_delete")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UP)
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWN)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
