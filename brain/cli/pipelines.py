"""`brain pipelines validate|apply|list|show|versions|diff|rollback`: pipeline definitions over HTTP."""

from __future__ import annotations

import difflib
import json
import sys
import urllib.parse
from pathlib import Path

import click

from brain.cli.missions import _base_url, _call, token_option, url_option
from brain.config import get_settings
from brain.pipelines.definition import DefinitionError, parse


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {file}: {exc}", param_hint="FILE") from None


def _name_of(url: str, name: str) -> str:
    return f"{url}/api/pipelines/{urllib.parse.quote(name, safe='')}"


@click.group()
@token_option
def pipelines() -> None:
    """Define pipelines (DAGs of missions) and manage their versions."""


@pipelines.command()
@click.argument("file", type=click.Path(dir_okay=False))
def validate(file: str) -> None:
    """Check a definition file here, without the API: every problem with its line, node and field."""
    try:
        definition = parse(_read(file), Path(file).name, get_settings().agent_modules)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{file}: pipeline {definition.name!r}, {len(definition.nodes)} node(s): valid")


@pipelines.command()
@click.option("-f", "--file", "file", required=True, type=click.Path(dir_okay=False), help="The YAML definition.")
@click.option("--name", default=None, help="Default: the definition's `name`.")
@url_option
def apply(file: str, name: str | None, url: str | None) -> None:
    """Apply a definition: a new version that becomes current (the same text again changes nothing)."""
    source = _read(file)
    if name is None:
        try:
            name = parse(source, Path(file).name, get_settings().agent_modules).name
        except DefinitionError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
    version = _call("PUT", _name_of(_base_url(url), name), {"source": source})
    state = "applied" if version["created"] else "unchanged"
    click.echo(f"{name}: version {version['version']} is current ({state}, sha256 {version['content_hash'][:12]})")


@pipelines.command("list")
@url_option
def list_(url: str | None) -> None:
    """The pipelines of your tenant with their current versions."""
    cursor = None
    while True:
        query = urllib.parse.urlencode({"limit": 200, **({"cursor": cursor} if cursor else {})})
        page = _call("GET", f"{_base_url(url)}/api/pipelines?{query}")
        for p in page["items"]:
            click.echo(f"{p['name']:32} v{p['current_version']:<4} (latest v{p['latest_version']})  {p['description']}")
        cursor = page.get("next_cursor")
        if not cursor:
            return


@pipelines.command()
@click.argument("name")
@click.option("--version", "version", type=int, default=None, help="Default: the current one.")
@click.option("--source", is_flag=True, help="Print only the YAML source.")
@url_option
def show(name: str, version: int | None, source: bool, url: str | None) -> None:
    """One version of a pipeline (JSON), or its YAML source."""
    path = _name_of(_base_url(url), name) + (f"/versions/{version}" if version else "")
    shown = _call("GET", path)
    if source:
        click.echo(shown["source"], nl=not shown["source"].endswith("\n"))  # exactly as applied
    else:
        click.echo(json.dumps(shown, indent=2))


@pipelines.command()
@click.argument("name")
@url_option
def versions(name: str, url: str | None) -> None:
    """Every version of a pipeline, newest first."""
    for v in _call("GET", _name_of(_base_url(url), name) + "/versions")["items"]:
        mark = "*" if v["current"] else " "
        click.echo(f"{mark} v{v['version']:<4} {v['created_at']}  {v['created_by'] or '-':20} {v['content_hash'][:12]}")


@pipelines.command()
@click.argument("name")
@click.argument("older", type=int)
@click.argument("newer", type=int, required=False)
@url_option
def diff(name: str, older: int, newer: int | None, url: str | None) -> None:
    """A unified diff between two versions (NEWER defaults to the current one)."""
    base = _name_of(_base_url(url), name)
    old = _call("GET", f"{base}/versions/{older}")
    new = _call("GET", f"{base}/versions/{newer}" if newer else base)
    click.echo(
        "".join(
            difflib.unified_diff(
                old["source"].splitlines(keepends=True),
                new["source"].splitlines(keepends=True),
                fromfile=f"{name} v{old['version']}",
                tofile=f"{name} v{new['version']}",
            )
        ),
        nl=False,
    )


@pipelines.command()
@click.argument("name")
@click.option("--to", "to", type=int, default=None, help="Default: the version before the current one.")
@url_option
def rollback(name: str, to: int | None, url: str | None) -> None:
    """Make an earlier version current again (runs already started keep their version)."""
    body = {"version": to} if to else {}
    shown = _call("POST", _name_of(_base_url(url), name) + "/rollback", body)
    click.echo(f"{name}: version {shown['current_version']} is current")
