"""`brain settings docs`: the table of every setting, as the README shows it (generated from SPECS)."""

from __future__ import annotations

import click

from brain.config import settings_table


@click.group()
def settings() -> None:
    """BRAiN's settings (environment variables)."""


@settings.command("docs")
def docs() -> None:
    """Print the Markdown table of every environment variable, its default and meaning."""
    click.echo(settings_table())
