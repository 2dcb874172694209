"""pipelines: definitions, immutable versions, runs and nodes (row-level security as for missions)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Spelled out (not imported) so this migration never changes when the code does.
TABLES = ("pipelines", "pipeline_versions", "pipeline_runs", "pipeline_nodes")
APP_ROLE = "brain_app"
IN_SCOPE = "(tenant = current_setting('brain.tenant', true) OR current_setting('brain.tenant', true) = '*')"
GRANTS = f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON pipelines, pipeline_runs, pipeline_nodes TO {APP_ROLE};
        GRANT SELECT, INSERT ON pipeline_versions TO {APP_ROLE};
    END IF;
END $$;
"""


def _when() -> sa.Column:
    return sa.DateTime()


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
    )
    op.create_table(
        "pipeline_versions",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(100)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", _when(), nullable=False),
    )
    op.create_index("ix_pipeline_versions_hash", "pipeline_versions", ["tenant", "name", "content_hash"])
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON()),
        sa.Column("error", sa.JSON()),
        sa.Column("parent_node_id", sa.Uuid()),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("finished_at", _when()),
    )
    op.create_index("ix_pipeline_runs_tenant_created", "pipeline_runs", ["tenant", "created_at", "id"])
    op.create_index(
        "ix_pipeline_runs_tenant_pipeline_created", "pipeline_runs", ["tenant", "pipeline", "created_at", "id"]
    )
    op.create_index(
        "uq_pipeline_runs_tenant_idempotency_key", "pipeline_runs", ["tenant", "idempotency_key"], unique=True
    )
    op.create_table(
        "pipeline_nodes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("run_id", sa.Uuid(), sa.ForeignKey("pipeline_runs.id"), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("mission_id", sa.Uuid()),
        sa.Column("child_run_id", sa.Uuid()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("item", sa.JSON()),
        sa.Column("result", sa.JSON()),
        sa.Column("error", sa.JSON()),
        sa.Column("ready_at", _when()),
        sa.Column("started_at", _when()),
        sa.Column("finished_at", _when()),
    )
    op.create_index("uq_pipeline_nodes_run_node_item", "pipeline_nodes", ["run_id", "node", "item_index"], unique=True)
    op.create_index("ix_pipeline_nodes_mission", "pipeline_nodes", ["mission_id"])
    with op.batch_alter_table("missions") as batch:
        batch.add_column(sa.Column("pipeline_node_id", sa.Uuid(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (minimal) filters by tenant in the application
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {IN_SCOPE} WITH CHECK {IN_SCOPE}")
    op.execute(GRANTS)


def downgrade() -> None:
    with op.batch_alter_table("missions") as batch:
        batch.drop_column("pipeline_node_id")
    for table in reversed(TABLES):
        op.drop_table(table)
