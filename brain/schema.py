"""Schema versioning: run Alembic migrations and refuse to start on an old schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

import migrations
from brain.config import mask
from brain.db import get_engine
from brain.errors import DependencyUnavailable, SchemaOutOfDate
from brain.tenancy.scope import system_scope

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def _ensure_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        os.makedirs(os.path.dirname(database_url[len("sqlite:///") :]) or ".", exist_ok=True)


@contextmanager
def _reachable(database_url: str) -> Iterator[None]:
    """Start-up's first contact with the database: a failure is one clear line, not a driver traceback."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DependencyUnavailable(f"database unreachable at {mask(database_url)}: {reason}") from None


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the `brain db upgrade` command)."""
    _ensure_sqlite_dir(database_url)
    with _reachable(database_url), system_scope("migrate"):
        command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to `revision` ("base" empties the schema)."""
    with _reachable(database_url), system_scope("migrate"):
        command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    _ensure_sqlite_dir(database_url)
    with _reachable(database_url), get_engine(database_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def require_current(database_url: str) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    current, head = current_revision(database_url), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, code needs {head}; run `brain db upgrade` first"
        )
