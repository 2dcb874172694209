"""`brain db upgrade|current`: Alembic migrations for the active profile's database."""

from __future__ import annotations

import click

from brain import schema
from brain.config import get_settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations (default: to the newest)."""
    settings = get_settings()
    schema.upgrade(settings.database_url, revision)
    click.echo(f"database at {schema.current_revision(settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" drops BRAiN's tables)."""
    settings = get_settings()
    schema.downgrade(settings.database_url, revision)
    click.echo(f"database at {schema.current_revision(settings.database_url) or 'base'}")


@db.command("current")
def current() -> None:
    """Print the schema revision the database is at, and the newest one."""
    settings = get_settings()
    click.echo(f"current {schema.current_revision(settings.database_url)}; head {schema.head_revision()}")
