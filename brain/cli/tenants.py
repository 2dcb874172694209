"""`brain tenants create|list|show|update|suspend|resume|delete`: tenant records, straight on the database.

The operator's own tool (no token needed, like `brain db`): the same service calls as the
admin API, so every change is the same audit event either way.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any

import click

from brain.config import get_settings
from brain.db import session_scope
from brain.models import Tenant
from brain.tenancy import tenants as service
from brain.tenancy.plans import LIMITS, PLAN_NAMES


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _show(tenant: dict[str, Any]) -> None:
    click.echo(json.dumps(tenant, indent=2, default=str))


def _limits(pairs: tuple[str, ...], allow_unset: bool) -> dict[str, Any]:
    """`--limit running_max=5` pairs; `key=` (empty) drops an override when allowed."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or key not in LIMITS:
            raise click.BadParameter(
                f"{pair!r}: expected KEY=VALUE with KEY one of {', '.join(LIMITS)}", param_hint="--limit"
            )
        if raw == "" and allow_unset:
            out[key] = None
            continue
        try:
            value = float(raw) if key.startswith("cost_") else int(raw)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: {raw!r} is not a number", param_hint="--limit") from None
        if value < 0:
            raise click.BadParameter(f"{pair!r}: limits are 0 (unlimited) or more", param_hint="--limit")
        out[key] = value
    return out


def _change(apply: Callable[[Any], Tenant]) -> None:
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        _show(service.describe(apply(session)))


limit_option = click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="KEY=VALUE",
    help=f"Override a plan limit ({', '.join(LIMITS)}); 0 = unlimited.",
)


@click.group()
def tenants() -> None:
    """Tenants: create, list, show, update, suspend, resume, delete."""


@tenants.command()
@click.argument("tenant_id")
@click.option("--name", default=None, help="Display name (default: the id).")
@click.option("--plan", type=click.Choice(PLAN_NAMES), default="standard", show_default=True)
@click.option(
    "--weight", type=click.IntRange(1, 1000), default=None, help="Fair-scheduling weight (default: the plan's)."
)
@limit_option
def create(tenant_id: str, name: str | None, plan: str, weight: int | None, limits: tuple[str, ...]) -> None:
    """Create tenant TENANT_ID (the slug tokens name in their `tenant` claim)."""
    if not service.SLUG.match(tenant_id):
        raise click.BadParameter(
            "1-64 characters of a-z 0-9 . _ -, starting with a letter or digit", param_hint="TENANT_ID"
        )
    overrides = _limits(limits, allow_unset=False)
    _change(
        lambda s: service.create(
            s, tenant_id, name or tenant_id, plan=plan, weight=weight, limits=overrides, actor=_actor()
        )
    )


@tenants.command(name="list")
@click.option("--status", type=click.Choice(["active", "suspended", "deleted"]), default=None)
def list_(status: str | None) -> None:
    """One line per tenant: id, status, plan, weight, name."""
    settings = get_settings()
    cursor = None
    with session_scope(settings.database_url) as session:
        while True:
            items, cursor = service.list_tenants(session, status=status, limit=200, cursor=cursor)
            for tenant in items:
                shown = service.describe(tenant)
                click.echo(
                    f"{shown['id']:<24} {shown['status']:<10} {shown['plan']:<11} {shown['weight']:>4}  {shown['name']}"
                )
            if cursor is None:
                break


@tenants.command()
@click.argument("tenant_id")
def show(tenant_id: str) -> None:
    """The tenant as JSON: plan, status, the limits in effect and its own overrides."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        _show(service.describe(service.get(session, tenant_id)))


@tenants.command()
@click.argument("tenant_id")
@click.option("--name", default=None)
@click.option("--plan", type=click.Choice(PLAN_NAMES), default=None)
@click.option("--weight", type=click.IntRange(1, 1000), default=None)
@click.option(
    "--limit", "limits", multiple=True, metavar="KEY=VALUE", help="Override a limit; KEY= drops the override."
)
def update(tenant_id: str, name: str | None, plan: str | None, weight: int | None, limits: tuple[str, ...]) -> None:
    """Change a tenant's name, plan, weight or limit overrides."""
    changes: dict[str, Any] = {k: v for k, v in {"name": name, "plan": plan, "weight": weight}.items() if v is not None}
    if limits:
        changes["limits"] = _limits(limits, allow_unset=True)
    if not changes:
        raise click.UsageError("nothing to change: give --name, --plan, --weight or --limit")
    _change(lambda s: service.update_tenant(s, tenant_id, changes, actor=_actor()))


@tenants.command()
@click.argument("tenant_id")
@click.option("--reason", required=True, help="Why (recorded, and shown to the tenant's callers).")
def suspend(tenant_id: str, reason: str) -> None:
    """Refuse every call of the tenant and hold its queued missions; running missions finish."""
    _change(lambda s: service.suspend(s, tenant_id, reason, actor=_actor()))


@tenants.command()
@click.argument("tenant_id")
def resume(tenant_id: str) -> None:
    """Serve the tenant again; the sweeper publishes the missions held while it was suspended."""
    settings = get_settings()
    # No broker from this command (on minimal that would start an embedded Redis that outlives
    # it): the held missions are unpublished queued rows, which the next sweep publishes.
    _change(lambda s: service.resume(s, settings, tenant_id, actor=_actor(), publish=False))


@tenants.command()
@click.argument("tenant_id")
@click.confirmation_option(prompt="Delete the tenant? Its tokens are refused from then on.")
def delete(tenant_id: str) -> None:
    """Mark the tenant deleted (refused while it has missions not final)."""
    _change(lambda s: service.delete(s, tenant_id, actor=_actor()))
