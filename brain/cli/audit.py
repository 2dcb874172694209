"""`brain audit verify`: prove the audit trail was not altered."""

from __future__ import annotations

import sys

import click

from brain.config import get_settings
from brain.db import session_scope
from brain.schema import require_current
from brain.services.audit_verify import verify as verify_chain


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command()
def verify() -> None:
    """Walk the event hash chain; exit 1 naming the first broken link."""
    settings = get_settings()
    require_current(settings.database_url)
    with session_scope(settings.database_url) as session:
        report = verify_chain(session)
    if report.ok:
        click.echo(f"audit chain ok: {report.checked} events verified, head {report.last_hash}")
        return
    click.echo(f"audit chain BROKEN at event {report.broken.event_id}: {report.broken.reason} "
               f"({report.checked} events before it verified)", err=True)
    sys.exit(1)
