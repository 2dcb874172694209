"""Audit events: one row per state change, written in the same transaction as the change, hash-chained."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from brain.db import utcnow
from brain.models import Event

GENESIS = "0" * 64


def canonical(event: Event) -> bytes:
    """The bytes a row's hash covers: every field except id and the hashes, in a stable order."""
    content = {
        "type": event.type,
        "mission_id": str(event.mission_id) if event.mission_id else None,
        "tenant": event.tenant,
        "actor": event.actor,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: Event) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


PENDING = "brain_audit_pending"


# Migration 0003 defines it: takes the chain lock, reads the newest hash and inserts the
# events with their hashes (sha256 of the previous hash + the canonical bytes sent from here),
# so a transaction's events cost one statement and the lock is held for that one statement.
_APPEND = text(
    "SELECT brain_append_events(:types, CAST(:missions AS uuid[]), :tenants, :actors, :datas, "
    "CAST(:created AS timestamp[]), :canonicals)"
)


def _append_postgres(session: Session, events: list[Event]) -> None:
    session.execute(_APPEND, {
        "types": [e.type for e in events],
        "missions": [str(e.mission_id) if e.mission_id else None for e in events],
        "tenants": [e.tenant for e in events],
        "actors": [e.actor for e in events],
        "datas": [json.dumps(e.data, ensure_ascii=False) for e in events],
        "created": [e.created_at.astimezone(dt.UTC).replace(tzinfo=None) for e in events],
        "canonicals": [canonical(e) for e in events],
    })


def record(
    session: Session,
    type_: str,
    mission_id: uuid.UUID | None = None,
    *,
    tenant: str = "default",
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Queue an event for this transaction; it is chained and inserted when the transaction commits."""
    # Round-trip through JSON so the stored data is exactly what was hashed.
    stored = json.loads(json.dumps(data or {}, default=str))
    event = Event(type=type_, mission_id=mission_id, tenant=tenant, actor=actor, data=stored,
                  created_at=utcnow())
    session.info.setdefault(PENDING, []).append(event)
    return event


def _link(events: list[Event], prev: str) -> None:
    for event in events:
        event.prev_hash = prev
        event.hash = chain_hash(prev, event)
        prev = event.hash


@sa_event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    events = session.info.pop(PENDING, None)
    if not events:
        return
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            _append_postgres(session, events)
            return
        # SQLite: the first insert takes the database write lock, which serialises
        # writers until commit; then the predecessor can be read safely.
        session.add_all(events)
        session.flush()
        prev = session.scalar(select(Event.hash).where(Event.id < events[0].id).order_by(Event.id.desc()).limit(1))
        _link(events, prev or GENESIS)
        session.flush()


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0
