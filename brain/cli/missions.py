"""`brain missions submit|get|list`: a thin HTTP client of the API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from brain.config import get_settings

FINAL = {"succeeded", "failed", "timed_out", "cancelled", "rejected", "expired", "over_budget"}


def _base_url(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    s = get_settings()
    return f"http://{s.api_host}:{s.api_port}"


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    ctx = click.get_current_context(silent=True)
    token = ctx.meta.get(TOKEN_META) if ctx else None
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json", **auth, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise click.ClickException(f"{exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach the API at {url}: {exc.reason}") from None


url_option = click.option("--url", envvar="BRAIN_API_URL", help="API base URL (default from settings).")


TOKEN_META = "brain.api_token"


def _keep_token(ctx: click.Context, _param: click.Parameter, token: str | None) -> str | None:
    ctx.meta[TOKEN_META] = token
    return token


# The option every API client group takes: the token goes where `_call` finds it.
token_option = click.option(
    "--token",
    envvar="BRAIN_API_TOKEN",
    default=None,
    expose_value=False,
    callback=_keep_token,
    help="Bearer token (`brain token issue`); default $BRAIN_API_TOKEN.",
)


@click.group()
@token_option
def missions() -> None:
    """Submit and inspect missions over HTTP."""


@missions.command()
@click.option("--agent", required=True)
@click.option("--name", default=None, help="Defaults to the agent name.")
@click.option("--payload", default="{}", help="JSON object.")
@click.option("--priority", type=click.Choice(["LOW", "NORMAL", "HIGH", "CRITICAL"]), default="NORMAL")
@click.option("--timeout", "timeout_s", type=int, default=None)
@click.option("--idempotency-key", default=None)
@click.option("--wait", is_flag=True, help="Poll until the mission finishes.")
@url_option
def submit(
    agent: str,
    name: str | None,
    payload: str,
    priority: str,
    timeout_s: int | None,
    idempotency_key: str | None,
    wait: bool,
    url: str | None,
) -> None:
    """Submit a mission and print it."""
    try:
        payload_obj = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--payload") from None
    body: dict[str, Any] = {"name": name or agent, "agent": agent, "payload": payload_obj, "priority": priority}
    if timeout_s:
        body["timeout_s"] = timeout_s
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    base = _base_url(url)
    mission = _call("POST", f"{base}/api/missions", body, headers)
    while wait and mission["status"] not in FINAL:
        time.sleep(0.5)
        mission = _call("GET", f"{base}/api/missions/{mission['id']}")
    click.echo(json.dumps(mission, indent=2))


@missions.command()
@click.argument("mission_id")
@url_option
def get(mission_id: str, url: str | None) -> None:
    """Print one mission."""
    click.echo(json.dumps(_call("GET", f"{_base_url(url)}/api/missions/{mission_id}"), indent=2))


@missions.command("list")
@click.option("--status", default=None)
@click.option("--agent", default=None)
@click.option("--limit", type=int, default=20)
@click.option("--cursor", default=None)
@url_option
def list_(status: str | None, agent: str | None, limit: int, cursor: str | None, url: str | None) -> None:
    """List missions, newest first."""
    query = {k: v for k, v in {"status": status, "agent": agent, "limit": limit, "cursor": cursor}.items() if v}
    page = _call("GET", f"{_base_url(url)}/api/missions?{urllib.parse.urlencode(query)}")
    for m in page["items"]:
        click.echo(f"{m['id']}  {m['status']:10} {m['agent']:12} {m['name']}")
    if page.get("next_cursor"):
        click.echo(f"next cursor: {page['next_cursor']}")
