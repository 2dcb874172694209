"""Reading the audit events: filtered pages newest first, a mission's life, and the tail after an id."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from brain.errors import InvalidMission
from brain.models import Event, Mission
from brain.services.missions import get_mission


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("e"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise InvalidMission("invalid cursor", "cursor", ["Not a cursor returned by this API."], "query") from None


def _filtered(query, type_: str | None, mission_id: uuid.UUID | None, tenant: str | None):
    if type_:
        # "mission.*" selects a family of types.
        query = (
            query.where(Event.type.startswith(type_[:-1], autoescape=True))
            if type_.endswith(".*")
            else query.where(Event.type == type_)
        )
    if mission_id:
        query = query.where(Event.mission_id == mission_id)
    if tenant is not None:
        query = query.where(Event.tenant == tenant)
    return query


def list_events(
    session: Session,
    *,
    type: str | None = None,
    mission_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    tenant: str | None = None,
) -> tuple[list[Event], str | None]:
    """A page of events newest first; next_cursor continues with older ones."""
    query = _filtered(select(Event), type, mission_id, tenant)
    if since is not None:
        query = query.where(Event.created_at >= since)
    if cursor:
        query = query.where(Event.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Event.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def mission_events(session: Session, mission_id: uuid.UUID, tenant: str | None = None) -> list[Event]:
    """Every event of one mission in the order it happened; NotFound for an unknown mission."""
    mission: Mission = get_mission(session, mission_id, tenant)
    return list(session.scalars(select(Event).where(Event.mission_id == mission.id).order_by(Event.id)))


def events_after(
    session: Session,
    after_id: int,
    *,
    type: str | None = None,
    mission_id: uuid.UUID | None = None,
    tenant: str | None = None,
    limit: int = 200,
) -> list[Event]:
    """Events with an id above `after_id`, oldest first (the live tail)."""
    query = _filtered(select(Event).where(Event.id > after_id), type, mission_id, tenant)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))
