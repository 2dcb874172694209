"""`brain policies check|explain`: lint a policy directory, explain which rule decides and why."""

from __future__ import annotations

import json
from pathlib import Path

import click

from brain.agents import get_agent
from brain.agents.base import RISK_TIERS
from brain.agents.registry import load_agents
from brain.config import get_settings
from brain.governance import Inputs, PolicyError, explain, load_directory, policies_dir
from brain.models.mission import PRIORITIES


def _directory(directory: str | None) -> Path:
    return Path(directory) if directory else policies_dir(get_settings())


@click.group()
def policies() -> None:
    """Governance policy files."""


@policies.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    """Validate every policy file in DIRECTORY (default: BRAIN_POLICIES_DIR); exit 1 listing each problem."""
    path = _directory(directory)
    try:
        policy_set = load_directory(path)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {path}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"ok: {len(policy_set.files)} file(s), {len(policy_set.rules)} rule(s), "
        f"default {policy_set.default}, version {policy_set.version} ({path})"
    )


def _agent_tier(agent: str) -> str:
    load_agents(get_settings().agent_modules)
    found = get_agent(agent)
    return found.risk_tier if found is not None else "STANDARD"


@policies.command("explain")
@click.option("--agent", required=True, help="Agent name.")
@click.option("--tenant", default="default", show_default=True)
@click.option("--tenant-plan", default=None, help="Tenant plan (default: from the policies' tenant_plans).")
@click.option("--priority", default="NORMAL", show_default=True, type=click.Choice(PRIORITIES))
@click.option(
    "--risk-tier",
    default=None,
    type=click.Choice(RISK_TIERS),
    help="Declared risk tier (default: the registered agent's).",
)
@click.option("--payload", default="{}", help="Mission payload as JSON.")
@click.option(
    "--dir",
    "directory",
    default=None,
    type=click.Path(file_okay=False),
    help="Policy directory (default: BRAIN_POLICIES_DIR).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def explain_cmd(
    agent: str,
    tenant: str,
    tenant_plan: str | None,
    priority: str,
    risk_tier: str | None,
    payload: str,
    directory: str | None,
    as_json: bool,
) -> None:
    """Show which rule decides a mission and why the rules before it did not match."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg})", param_hint="--payload") from None
    if not isinstance(body, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--payload")
    path = _directory(directory)
    try:
        policy_set = load_directory(path)
    except PolicyError as exc:
        click.echo(f"the policies in {path} are invalid; run `brain policies check`:\n{exc}", err=True)
        raise SystemExit(1) from None
    inputs = Inputs(
        agent=agent,
        risk_tier=risk_tier or _agent_tier(agent),
        tenant=tenant,
        priority=priority,
        tenant_plan=tenant_plan,
        payload=body,
    )
    trace, verdict = explain(policy_set, inputs)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "version": policy_set.version,
                    "inputs": inputs.normalised(policy_set),
                    "trace": trace,
                    "decision": verdict.as_dict(),
                },
                indent=2,
                default=str,
            )
        )
        return
    click.echo(f"policy version {policy_set.version}; risk tier {inputs.risk_tier}")
    for step in trace:
        mark = "MATCH" if step["matched"] else "skip "
        click.echo(f"  {mark} {step['rule']} (priority {step['priority']}, {step['file']}): {step['why']}")
    click.echo(f"decision: {verdict.effect} by rule {verdict.rule_id}: {verdict.reason}")
    if verdict.obligations:
        click.echo(f"obligations: {json.dumps(verdict.obligations)}")
    if verdict.risk_tier != inputs.risk_tier:
        click.echo(f"risk tier raised to {verdict.risk_tier}")
