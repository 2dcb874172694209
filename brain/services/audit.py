"""Audit events: one row per state change, written in the same transaction as the change, hash-chained."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from brain.db import utcnow
from brain.models import Event

GENESIS = "0" * 64
# Any constant shared by every writer; names the one lock that serialises the chain.
CHAIN_LOCK_KEY = 0x6272_6169_6E61  # "braina"


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


def _lock_chain(session: Session) -> None:
    # PostgreSQL: one chain writer at a time until commit, so two transactions never
    # read the same predecessor. Taken only at commit time, so the lock is held for
    # the length of one INSERT, not of the whole transaction.
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})


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


_COLUMNS = ("type", "mission_id", "tenant", "actor", "data", "created_at", "prev_hash", "hash")


def _row(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _COLUMNS}


@sa_event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    events = session.info.pop(PENDING, None)
    if not events:
        return
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            # Ids are drawn after the lock, so id order is chain order across writers.
            _lock_chain(session)
            prev = session.scalar(select(Event.hash).order_by(Event.id.desc()).limit(1))
            _link(events, prev or GENESIS)
            # Core executemany: the rows need no ids back, so no ORM unit of work for them.
            session.execute(insert(Event.__table__), [_row(e) for e in events])
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
