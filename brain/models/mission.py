"""The mission row: the single source of truth about a mission's state."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from brain.crypto import EncryptedJSON
from brain.db import Base, UTCDateTime, utcnow

PRIORITIES = ("LOW", "NORMAL", "HIGH", "CRITICAL")
STATUSES = (
    "awaiting_approval",
    "queued",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "rejected",
    "expired",
    "over_budget",
)
FINAL_STATUSES = frozenset({"succeeded", "failed", "timed_out", "cancelled", "rejected", "expired", "over_budget"})


IN_BACKLOG_SQL = "status = 'queued' AND dispatched_at IS NULL"
ADMITTED_SQL = "status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)"


class Mission(Base):
    __tablename__ = "missions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(100))
    # Fernet-encrypted at rest when BRAIN_ENCRYPT_PAYLOADS is on (brain/crypto.py).
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    priority: Mapped[str] = mapped_column(String(10), default="NORMAL")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    result: Mapped[Any | None] = mapped_column(EncryptedJSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    timeout_s: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(255))
    submitted_by: Mapped[str | None] = mapped_column(String(255))
    # The submitting request's X-Request-ID: its message carries it to the worker's log lines,
    # also when the fair dispatcher publishes the mission long after the request ended.
    request_id: Mapped[str | None] = mapped_column(String(128))
    risk_tier: Mapped[str] = mapped_column(String(20), default="STANDARD")
    # Rail options the submitter set (budget, start_within_s, max_retries, ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deferred_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # NeuroRail codes an observe-only rail would have raised.
    would_have: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The governor's decision: decision_id, effect, rule_id, policy_version, obligations.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The pipeline node this mission runs (brain/pipelines/): its final state advances that run.
    pipeline_node_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        # Every API listing is scoped to one tenant: the tenant leads the keyset indexes.
        Index("ix_missions_tenant_created", "tenant", "created_at", "id"),
        Index("ix_missions_tenant_status_created", "tenant", "status", "created_at", "id"),
        Index("ix_missions_tenant_agent_created", "tenant", "agent", "created_at", "id"),
        Index("ix_missions_status_created", "status", "created_at", "id"),
        Index("ix_missions_status_dispatched", "status", "dispatched_at"),
        Index("uq_missions_tenant_idempotency_key", "tenant", "idempotency_key", unique=True),
        # Fair scheduling (brain/scheduling/backlog.py): each tenant's backlog in serving order,
        # and the few missions admitted and not finished.
        Index(
            "ix_missions_backlog",
            "tenant",
            "priority",
            "created_at",
            postgresql_where=text(IN_BACKLOG_SQL),
            sqlite_where=text(IN_BACKLOG_SQL),
        ),
        Index("ix_missions_admitted", "tenant", postgresql_where=text(ADMITTED_SQL), sqlite_where=text(ADMITTED_SQL)),
    )
