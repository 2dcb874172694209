"""tenants: tenant records with plan, status, weight and limit overrides; the implicit tenant `default`

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import brain.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("suspended_reason", sa.Text(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=True),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("created_at", brain.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", brain.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    # Single-tenant deployments, and the platform's own administrators, live in `default`.
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        tenants,
        [
            {
                "id": "default",
                "name": "Default",
                "plan": "enterprise",
                "status": "active",
                "limits": {},
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("tenants")
