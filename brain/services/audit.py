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
from sqlalchemy.types import TypeDecorator

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

_Rows = list[tuple[Table, dict[str, Any]]]


def _grouped(rows: _Rows) -> list[tuple[Table, tuple[str, ...], list[dict[str, Any]]]]:
    """Rows by table and column set, in first-seen order: each group is one INSERT."""
    groups: dict[tuple[str, tuple[str, ...]], tuple[Table, tuple[str, ...], list[dict[str, Any]]]] = {}
    for table, values in rows:
        key = (table.name, tuple(values))
        groups.setdefault(key, (table, key[1], []))[2].append(values)
    return list(groups.values())


def _one_statement(groups: list[tuple[Table, tuple[str, ...], list[dict[str, Any]]]]):
    """New rows (as data-modifying CTEs, which PostgreSQL always runs) and the chained events.

    Each group's rows arrive as one array per column, unnested into one INSERT, so the
    statement's shape depends on which tables and columns, never on how many rows (a batch
    of 500 missions compiles and caches like a single one).
    """
    shape = tuple((table.name, columns) for table, columns, _ in groups)
    found = _statements.get(shape)
    if found is None:
        found = select(_APPEND)
        for i, (table, columns, _) in enumerate(groups):
            # The values are bound already processed (_parameters): the array binds as it is
            # and PostgreSQL casts it to the column's own type.
            arrays = [
                func.unnest(cast(bindparam(f"g{i}_{name}", type_=ARRAY(String)), ARRAY(_stored_type(table.c[name]))))
                for name in columns
            ]
            found = found.add_cte(insert(table).from_select(list(columns), select(*arrays)).cte(f"new_rows_{i}"))
        _statements[shape] = found
    return found


def _stored_type(column: Any) -> Any:
    return column.type.impl if isinstance(column.type, TypeDecorator) else column.type


def _parameters(groups, events: list[Event], dialect: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, (table, columns, rows) in enumerate(groups):
        for name in columns:
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            column = [row[name] for row in rows]
            params[f"g{i}_{name}"] = [process(v) for v in column] if process else column
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
            groups = _grouped(rows)
            statement = _one_statement(groups)
            params = _parameters(groups, events, session.get_bind().dialect)
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
