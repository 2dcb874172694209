"""A human approval a held mission waits for."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from brain.db import Base, UTCDateTime, utcnow

APPROVAL_STATUSES = ("pending", "approved", "rejected", "expired")


class Approval(Base):
    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    mission_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    rule_id: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str | None] = mapped_column(String(255))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_approvals_status_created", "status", "created_at", "id"),
        Index("ix_approvals_status_expires", "status", "expires_at"),
    )
