"""`brain profile show`: the effective settings, secrets masked."""

from __future__ import annotations

import json

import click

from brain.config import SPECS, load_settings


@click.group()
def profile() -> None:
    """Inspect runtime profiles."""


@profile.command("show")
@click.option("--profile", "name", help="Show this profile instead of BRAIN_PROFILE.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str | None, as_json: bool) -> None:
    """Print the effective settings of a profile, with secrets masked."""
    settings = load_settings(profile=name)
    values = settings.masked()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        env = SPECS[key].env if key in SPECS else ("BRAIN_PROFILE" if key == "profile" else "")
        shown = ",".join(value) if isinstance(value, list) else value
        click.echo(f"{key:22} {shown!s:60} {env}")
