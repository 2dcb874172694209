"""Database engine, session scope and the declarative Base with a naming convention."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from brain.config import get_settings
from brain.db_pool import pool_options
from brain.fork_safe import ForkSafeLock
from brain.tenancy import scope

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (portable to SQLite), always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


# The database is unreachable, restarting or out of connections: worth answering 503 and
# trying again later, never a reason to lose or repeat work.
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def json_loads(text: str | bytes):
    """orjson for speed; the stdlib for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_dumps(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: big integers, non-str keys, unknown types
        return json.dumps(value)


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout for SQLite; a sized, metered pool for PG."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=json_dumps,
            json_deserializer=json_loads,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # pysqlite's own BEGIN comes late (at the first write) and not at all for a SAVEPOINT,
            # so a transaction could read, then fail to write with an immediate "database is locked"
            # once another process had committed; we begin every transaction ourselves instead.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # IMMEDIATE takes the write lock up front, where the busy timeout waits for it.
            if not conn.get_execution_options().get(READS_ONLY):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, json_serializer=json_dumps, json_deserializer=json_loads, **pool_options())
    scope.install(engine, get_settings().multi_tenancy)
    return engine


# Marks SQLite connections that never BEGIN (their statements commit one by one); SQLite cannot
# use isolation_level="AUTOCOMMIT" for this, because it would reset pysqlite's own BEGIN handling.
READS_ONLY = "brain_reads_only"


def _reads_only(url: str) -> dict[str, object]:
    return {READS_ONLY: True} if url.startswith("sqlite") else {"isolation_level": "AUTOCOMMIT"}


_lock = ForkSafeLock()
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker] = {}
_readers: dict[str, sessionmaker] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process (disposed after fork by workers/)."""
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
            _sessionmakers[url] = sessionmaker(_engines[url], expire_on_commit=False)
            # Same pool; each statement commits by itself, so a read pays no BEGIN/COMMIT round trips.
            _readers[url] = sessionmaker(_engines[url].execution_options(**_reads_only(url)), expire_on_commit=False)
        return _engines[url]


def dispose_engines() -> None:
    """Drop inherited connections; call in a child right after fork."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A session for reads only (autocommit): never write through it."""
    get_engine(url)
    session = _readers[url]()
    try:
        yield session
    finally:
        session.close()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    get_engine(url)
    session = _sessionmakers[url]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint whose rollback also forgets the after-commit work queued inside it.

    Publishing, audit events and counted metrics wait in `session.info` lists until the real
    transaction commits; a savepoint rolled back must not leave its share of them behind.
    """
    lengths = {key: len(value) for key, value in session.info.items() if isinstance(value, list)}
    try:
        with session.begin_nested():
            yield
    except BaseException:
        for key in [k for k, v in session.info.items() if isinstance(v, list)]:
            if key in lengths:
                del session.info[key][lengths[key] :]
            else:
                del session.info[key]
        raise
