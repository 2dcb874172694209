"""Pipelines: a tenant's named definitions, their immutable versions, runs, and each run's nodes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from brain.crypto import EncryptedJSON
from brain.db import Base, UTCDateTime, utcnow

RUN_STATUSES = ("running", "succeeded", "failed", "cancelled")
FINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
# pending: waiting on dependencies (or a fan-out slot); running: its mission, sub-run or fan-out is under way.
NODE_STATUSES = ("pending", "running", "succeeded", "failed", "skipped", "cancelled")
FINAL_NODE_STATUSES = frozenset({"succeeded", "failed", "skipped", "cancelled"})


class Pipeline(Base):
    """A name in a tenant and which of its versions is current (apply and rollback move it)."""

    __tablename__ = "pipelines"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_version: Mapped[int] = mapped_column(Integer)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PipelineVersion(Base):
    """One applied definition, never changed: its source text, content hash, who applied it and when."""

    __tablename__ = "pipeline_versions"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(100))  # the definition's own `version`
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_pipeline_versions_hash", "tenant", "name", "content_hash"),)


class PipelineRun(Base):
    """One execution of a pinned version; a sub-pipeline's run names its parent node."""

    __tablename__ = "pipeline_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64))
    pipeline: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")
    inputs: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_node_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_pipeline_runs_tenant_created", "tenant", "created_at", "id"),
        Index("ix_pipeline_runs_tenant_pipeline_created", "tenant", "pipeline", "created_at", "id"),
        Index("uq_pipeline_runs_tenant_idempotency_key", "tenant", "idempotency_key", unique=True),
    )


class PipelineNode(Base):
    """A node of a run; a `foreach` node has one more row per item (`item_index`), its parent holds the list."""

    __tablename__ = "pipeline_nodes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("pipeline_runs.id"))
    tenant: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))  # the definition's node id
    item_index: Mapped[int] = mapped_column(Integer, default=-1)  # -1: the node itself; n: its n-th fan-out item
    status: Mapped[str] = mapped_column(String(20), default="pending")
    mission_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    child_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    item: Mapped[Any | None] = mapped_column(EncryptedJSON)
    result: Mapped[Any | None] = mapped_column(EncryptedJSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # its last dependency finished
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A fan-out node's items: how many, how many left `pending`, how many ended (running = started - done).
    items_total: Mapped[int | None] = mapped_column(Integer)
    items_started: Mapped[int | None] = mapped_column(Integer)
    items_done: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("uq_pipeline_nodes_run_node_item", "run_id", "node", "item_index", unique=True),
        Index("ix_pipeline_nodes_mission", "mission_id"),
        # The sweeper's repair reads running nodes only, and a fan-out starts its next items from
        # the pending ones: a few each, in a table of every node ever run.
        Index(
            "ix_pipeline_nodes_running",
            "run_id",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index(
            "ix_pipeline_nodes_pending",
            "run_id",
            "node",
            "item_index",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
