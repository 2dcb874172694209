"""Audit events: one row per state change, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from brain.models import Event


def record(
    session: Session,
    type_: str,
    mission_id: uuid.UUID | None = None,
    *,
    tenant: str = "default",
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    event = Event(type=type_, mission_id=mission_id, tenant=tenant, actor=actor, data=data or {})
    session.add(event)
    return event
