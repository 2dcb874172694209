"""A tenant: a customer of the deployment, its plan, status and limit overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.db import Base, UTCDateTime, utcnow

TENANT_STATUSES = ("active", "suspended", "deleted")


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the slug tokens name in their `tenant` claim
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(32), default="standard")
    status: Mapped[str] = mapped_column(String(20), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[int | None] = mapped_column(Integer)  # None: the plan's
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # overrides of the plan's limits
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
