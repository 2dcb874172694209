"""The `brain` command: one group, sub-commands in sibling modules."""

from __future__ import annotations

import sys

import click

from brain.cli import audit, backup, db, keys, missions, pipelines, policies, profile, serve, settings, tenants, token
from brain.errors import BrainError
from brain.tenancy.scope import system_scope


@click.group()
def cli() -> None:
    """BRAiN: mission orchestration for AI agents."""
    # The operator's tool: its database work spans tenants (processes it execs start unscoped).
    click.get_current_context().with_resource(system_scope("cli"))


cli.add_command(profile.profile)
cli.add_command(settings.settings)
cli.add_command(db.db)
cli.add_command(missions.missions)
cli.add_command(policies.policies)
cli.add_command(audit.audit)
cli.add_command(token.token)
cli.add_command(keys.keys)
cli.add_command(tenants.tenants)
cli.add_command(pipelines.pipelines)
cli.add_command(backup.backup)
cli.add_command(backup.restore)
for command in serve.COMMANDS:
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except BrainError as exc:
        click.echo(f"brain: error: {exc}", err=True)
        sys.exit(2)
