"""pipeline nodes: fan-out counters on a node's row, partial indexes on running and pending nodes

A fan-out node counts its items (`items_total`, `items_started`, `items_done`), so an item's
end costs the same whether the node has ten items or a thousand. The sweeper's repair reads
running nodes only, and starting the next items reads pending ones only: two partial indexes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Spelled out (not imported) so this migration never changes when the code does.
RUNNING = "status = 'running'"
PENDING = "status = 'pending'"
COUNTERS = ("items_total", "items_started", "items_done")


def upgrade() -> None:
    with op.batch_alter_table("pipeline_nodes") as batch:
        for column in COUNTERS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
    op.create_index(
        "ix_pipeline_nodes_running",
        "pipeline_nodes",
        ["run_id"],
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )
    op.create_index(
        "ix_pipeline_nodes_pending",
        "pipeline_nodes",
        ["run_id", "node", "item_index"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_nodes_pending", table_name="pipeline_nodes")
    op.drop_index("ix_pipeline_nodes_running", table_name="pipeline_nodes")
    with op.batch_alter_table("pipeline_nodes") as batch:
        for column in COUNTERS:
            batch.drop_column(column)
