"""fair scheduling: partial indexes on the tenants' backlogs and on admitted missions; missions.request_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Spelled out (not imported) so this migration never changes when the code does.
IN_BACKLOG = "status = 'queued' AND dispatched_at IS NULL"
ADMITTED = "status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("missions") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_missions_backlog",
        "missions",
        ["tenant", "priority", "created_at"],
        postgresql_where=sa.text(IN_BACKLOG),
        sqlite_where=sa.text(IN_BACKLOG),
    )
    op.create_index(
        "ix_missions_admitted",
        "missions",
        ["tenant"],
        postgresql_where=sa.text(ADMITTED),
        sqlite_where=sa.text(ADMITTED),
    )


def downgrade() -> None:
    op.drop_index("ix_missions_admitted", table_name="missions")
    op.drop_index("ix_missions_backlog", table_name="missions")
    with op.batch_alter_table("missions") as batch:
        batch.drop_column("request_id")
