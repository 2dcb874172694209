"""`brain audit verify|head`: prove the audit trail was not altered, and publish its signed head."""

from __future__ import annotations

import json
import sys

import click

from brain.config import get_settings
from brain.db import session_scope
from brain.errors import ConfigError
from brain.schema import require_current
from brain.services import audit_head
from brain.services.audit_verify import verify as verify_chain


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


def _signing_key() -> str:
    key = get_settings().audit_signing_key
    if not key:
        raise ConfigError("set BRAIN_AUDIT_SIGNING_KEY (a long random secret kept outside the database)")
    return key


@audit.command()
@click.option(
    "--head",
    "heads",
    type=click.File("r"),
    default=None,
    help="A file of heads printed by `brain audit head` (one JSON per line): each must still match.",
)
def verify(heads) -> None:
    """Walk the event hash chain; exit 1 listing every broken link (and every published head that no longer matches)."""
    settings = get_settings()
    require_current(settings.database_url)
    with session_scope(settings.database_url) as session:
        report = verify_chain(session)
        head_problems = _check_heads(session, heads) if heads else []
    if report.ok and not head_problems:
        click.echo(f"audit chain ok: {report.checked} events verified, head {report.last_hash}")
        if heads:
            click.echo("every published head matches")
        return
    if not report.ok:
        click.echo(f"audit chain BROKEN: {report.broken_count} problem(s) in {report.checked} events", err=True)
        for broken in report.breaks:
            click.echo(f"  event {broken.event_id}: {broken.reason}", err=True)
        if report.broken_count > len(report.breaks):
            click.echo(f"  … and {report.broken_count - len(report.breaks)} more", err=True)
    for line_no, problem in head_problems:
        click.echo(f"published head on line {line_no} does not match: {problem}", err=True)
    sys.exit(1)


def _check_heads(session, heads) -> list[tuple[int, str]]:
    key = _signing_key()
    problems = []
    for line_no, line in enumerate(heads, 1):
        if not line.strip():
            continue
        try:
            head = json.loads(line)
        except json.JSONDecodeError:
            problems.append((line_no, "not JSON"))
            continue
        problem = audit_head.check(session, head, key) if isinstance(head, dict) else "not a JSON object"
        if problem:
            problems.append((line_no, problem))
    return problems


@audit.command()
def head() -> None:
    """Print the chain's head (newest event id and hash, event count, time), signed; keep it outside the database."""
    settings = get_settings()
    require_current(settings.database_url)
    key = _signing_key()
    with session_scope(settings.database_url) as session:
        click.echo(json.dumps(audit_head.current(session, key), sort_keys=True))
