"""Alembic environment: runs migrations on the connection or URL handed in by brain.schema."""

from __future__ import annotations

from alembic import context

import brain.models  # noqa: F401 - registers every table
from brain.db import Base, get_engine

config = context.config
target_metadata = Base.metadata


# Made in SQL by a migration for PostgreSQL alone, with no model: autogenerate leaves it be.
SQL_ONLY_TABLES = frozenset({"audit_chain_head"})


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in SQL_ONLY_TABLES)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
