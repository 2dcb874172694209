"""The audit event row: one per state change or decision, written with the change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from brain.db import Base, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"

    # BigInteger on PostgreSQL, INTEGER on SQLite so it stays the rowid alias.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    mission_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    actor: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tamper evidence: hash = sha256(prev_hash + canonical content).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_events_mission", "mission_id", "id"),
        Index("ix_events_type", "type", "id"),
    )
