"""`brain pipelines …`: pipeline definitions, their versions and their runs, over HTTP."""

from __future__ import annotations

import difflib
import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

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


FINAL_RUN = {"succeeded", "failed", "cancelled"}


def _input(raw: str) -> tuple[str, Any]:
    key, sep, text = raw.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{raw!r} is not KEY=VALUE", param_hint="--input")
    try:
        return key, json.loads(text)  # 4, 0.9, true, ["a"] keep their type
    except json.JSONDecodeError:
        return key, text  # anything else is a string


def _wait(base: str, run: dict) -> dict:
    """Poll until the run ends; say once on stderr when a node waits for a human approval."""
    told: set[str] = set()
    while run["status"] not in FINAL_RUN:
        for node in run["nodes"]:
            if node["mission_status"] == "awaiting_approval" and node["mission_id"] not in told:
                told.add(node["mission_id"])
                click.echo(f"node {node['node']} awaits approval (mission {node['mission_id']})", err=True)
        time.sleep(0.5)
        run = _call("GET", f"{base}/api/pipeline-runs/{run['id']}")
    return run


def _report(run: dict, wait: bool) -> None:
    click.echo(json.dumps(run, indent=2))
    if wait and run["status"] != "succeeded":
        sys.exit(1)


@pipelines.command()
@click.argument("name")
@click.option("--input", "-i", "inputs", multiple=True, help="KEY=VALUE (VALUE as JSON when it parses); repeatable.")
@click.option("--idempotency-key", default=None)
@click.option("--wait", is_flag=True, help="Poll until the run ends; exit 1 unless it succeeded.")
@url_option
def run(name: str, inputs: tuple[str, ...], idempotency_key: str | None, wait: bool, url: str | None) -> None:
    """Start a run of the current version and print it (with --wait: as it ended)."""
    base = _base_url(url)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    started = _call("POST", _name_of(base, name) + "/runs", {"inputs": dict(_input(i) for i in inputs)}, headers)
    _report(_wait(base, started) if wait else started, wait)


@pipelines.command()
@click.argument("name", required=False)
@click.option("--status", type=click.Choice(sorted(FINAL_RUN | {"running"})), default=None)
@click.option("--limit", type=int, default=20)
@url_option
def runs(name: str | None, status: str | None, limit: int, url: str | None) -> None:
    """Recent runs, newest first (of one pipeline when NAME is given)."""
    query = {k: v for k, v in {"pipeline": name, "status": status, "limit": limit}.items() if v}
    page = _call("GET", f"{_base_url(url)}/api/pipeline-runs?{urllib.parse.urlencode(query)}")
    for r in page["items"]:
        took = f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else "-"
        click.echo(f"{r['id']}  {r['status']:10} {r['pipeline']:24} v{r['version']:<4} {took:>8}  {r['created_at']}")


@pipelines.command()
@click.argument("run_id")
@url_option
def status(run_id: str, url: str | None) -> None:
    """One run with every node: status, mission, timings, result summary."""
    click.echo(json.dumps(_call("GET", f"{_base_url(url)}/api/pipeline-runs/{run_id}"), indent=2))


@pipelines.command()
@click.argument("run_id")
@url_option
def cancel(run_id: str, url: str | None) -> None:
    """Cancel a run: its queued and running node missions are cancelled too."""
    shown = _call("POST", f"{_base_url(url)}/api/pipeline-runs/{run_id}/cancel")
    click.echo(f"run {shown['id']}: {shown['status']}")


@pipelines.command()
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Poll until the run ends; exit 1 unless it succeeded.")
@url_option
def retry(run_id: str, wait: bool, url: str | None) -> None:
    """Run a failed or cancelled run again from the nodes that did not succeed."""
    base = _base_url(url)
    shown = _call("POST", f"{base}/api/pipeline-runs/{run_id}/retry")
    _report(_wait(base, shown) if wait else shown, wait)
