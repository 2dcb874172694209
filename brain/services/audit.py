"""Audit events: one row per state change, written in the same transaction as the change, hash-chained."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import ARRAY, TIMESTAMP, LargeBinary, String, Table, bindparam, cast, func, insert, inspect, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
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
ROWS = "brain_rows_at_commit"
TOUCHED = "brain_db_touched"


# `brain_append_events(...)` (migration 0003) takes the chain lock, reads the newest hash and
# inserts the events with sha256(previous hash + the canonical bytes sent from here), so a
# transaction's events cost one statement and the lock is held for that one statement.
_APPEND = func.brain_append_events(
    bindparam("ev_types", type_=ARRAY(String)),
    cast(bindparam("ev_missions", type_=ARRAY(String)), ARRAY(PG_UUID)),
    bindparam("ev_tenants", type_=ARRAY(String)),
    bindparam("ev_actors", type_=ARRAY(String)),
    bindparam("ev_datas", type_=ARRAY(String)),
    cast(bindparam("ev_created", type_=ARRAY(String)), ARRAY(TIMESTAMP)),
    bindparam("ev_canonicals", type_=ARRAY(LargeBinary)),
)
_statements: dict[tuple, Any] = {}
MAX_CACHED_ROWS = 4  # the shapes the services produce; a bigger batch is built per call


def _one_statement(rows: list[tuple[Table, dict[str, Any]]]):
    """New rows (as data-modifying CTEs, which PostgreSQL always runs) and the chained events.

    Built once per shape (which tables, which columns): building and caching a statement
    per call costs more than the round trip it saves.
    """
    shape = tuple((table.name, tuple(values)) for table, values in rows)
    found = _statements.get(shape)
    if found is None:
        found = select(_APPEND)
        for i, (table, values) in enumerate(rows):
            binds = {name: bindparam(f"r{i}_{name}") for name in values}
            found = found.add_cte(insert(table).values(binds).cte(f"new_row_{i}"))
        if len(rows) <= MAX_CACHED_ROWS:
            _statements[shape] = found
    return found


def _parameters(rows: list[tuple[Table, dict[str, Any]]], events: list[Event]) -> dict[str, Any]:
    params = {f"r{i}_{name}": value for i, (_, values) in enumerate(rows) for name, value in values.items()}
    params.update(
        ev_types=[e.type for e in events],
        ev_missions=[str(e.mission_id) if e.mission_id else None for e in events],
        ev_tenants=[e.tenant for e in events],
        ev_actors=[e.actor for e in events],
        ev_datas=[json.dumps(e.data, ensure_ascii=False) for e in events],
        ev_created=[e.created_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat() for e in events],
        ev_canonicals=[canonical(e) for e in events],
    )
    return params


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
    # Round-trip through JSON so the stored data is exactly what was hashed: anything JSON
    # has no value for becomes a string (or null for NaN/Infinity), never a hash mismatch later.
    stored = json.loads(json.dumps(data or {}, default=str), parse_constant=lambda _: None)
    event = Event(type=type_, mission_id=mission_id, tenant=tenant, actor=actor, data=stored, created_at=utcnow())
    session.info.setdefault(PENDING, []).append(event)
    return event


def _link(events: list[Event], prev: str) -> None:
    for event in events:
        event.prev_hash = prev
        event.hash = chain_hash(prev, event)
        prev = event.hash


def insert_at_commit(session: Session, obj: Any) -> None:
    """Insert a new ORM object's row when the transaction commits, with the events.

    The object stays transient (nothing reads it back). On PostgreSQL the rows and events
    go in one statement; when they are the whole transaction it runs in autocommit (one
    statement is atomic by itself), so the write costs one round trip, not BEGIN + COMMIT too.
    """
    table = type(obj).__table__
    state = inspect(obj).dict
    values = {}
    for column in table.c:
        if column.key in state:
            values[column.key] = state[column.key]
        elif column.default is not None:
            # Filled in here, not by the compiler: two rows of one table in one statement
            # would otherwise both bind the default under the column's own name.
            default = column.default
            values[column.key] = default.arg(None) if default.is_callable else default.arg
    session.info.setdefault(ROWS, []).append((table, values))


@sa_event.listens_for(Session, "after_begin")
def _touched(session: Session, _transaction, _connection) -> None:
    session.info[TOUCHED] = True


@sa_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    rows = session.info.pop(ROWS, None) or []
    events = session.info.pop(PENDING, None) or []
    if not rows and not events:
        return
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            statement, params = _one_statement(rows), _parameters(rows, events)
            alone = not (session.info.get(TOUCHED) or session.new or session.dirty or session.deleted)
            if alone:
                with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(statement, params)
            else:
                session.execute(statement, params)
            return
        for table, values in rows:
            session.execute(insert(table), [values])
        if not events:
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
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    session.info.pop(PENDING, None)
    session.info.pop(ROWS, None)
    session.info.pop(TOUCHED, None)


@sa_event.listens_for(Session, "after_commit")
def _forget_begin(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    session.info.pop(TOUCHED, None)


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0
