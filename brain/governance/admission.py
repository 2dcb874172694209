"""Applying the governor at enqueue (status, obligations, audit) and re-checking on the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from brain.agents import get_agent
from brain.config import Settings
from brain.db import session_scope, utcnow
from brain.errors import PolicyDenied
from brain.governance.evaluator import Inputs
from brain.governance.governor import Decision, decide
from brain.governance.store import get_store
from brain.models import Mission
from brain.services import approvals, audit, execution
from brain.tenancy import tenant_metrics
from brain.time_limits import mission_limit

STATUS_OF_EFFECT = {"allow": "queued", "require_approval": "awaiting_approval", "deny": "rejected"}


def governing(settings: Settings) -> bool:
    """The governor decides only with its module on and BRAIN_GOVERNANCE on."""
    return settings.governance_enabled and "governance" in settings.modules


def declared_tier(agent_name: str) -> str:
    agent = get_agent(agent_name)
    return agent.risk_tier if agent is not None else "STANDARD"


def inputs_of(mission: Mission, tier: str | None = None, priority: str | None = None) -> Inputs:
    return Inputs(
        agent=mission.agent,
        risk_tier=tier or declared_tier(mission.agent),
        tenant=mission.tenant,
        priority=priority or mission.priority,
        payload=mission.payload or {},
    )


def apply_obligations(settings: Settings, mission: Mission, obligations: dict[str, Any]) -> None:
    """Tighten the mission: obligations only ever lower limits or force a priority."""
    if "max_timeout_s" in obligations:
        current = mission_limit(settings, mission.agent, mission.timeout_s)
        mission.timeout_s = min(current, obligations["max_timeout_s"])
    if "priority" in obligations:
        mission.priority = obligations["priority"]
    if "budget" in obligations:
        options = dict(mission.options or {})
        budget = dict(options.get("budget") or {})
        for key, cap in obligations["budget"].items():
            budget[key] = min(budget[key], cap) if isinstance(budget.get(key), (int, float)) else cap
        options["budget"] = budget
        mission.options = options


def admit(settings: Settings, mission: Mission) -> Decision | None:
    """Decide on a new, unsaved mission and shape it accordingly (governance off: None)."""
    mission.risk_tier = declared_tier(mission.agent)
    if not governing(settings):
        return None
    decision = decide(settings, inputs_of(mission, mission.risk_tier))
    mission.risk_tier = decision.risk_tier
    mission.decision = decision.record()
    mission.status = STATUS_OF_EFFECT[decision.effect]
    if decision.effect == "allow":
        apply_obligations(settings, mission, decision.obligations)
        return decision
    mission.dispatched_at = None  # nothing to publish
    if decision.effect == "deny":
        mission.finished_at = utcnow()
        mission.error = {"code": "policy_denied", "message": decision.reason}
    else:
        apply_obligations(settings, mission, decision.obligations)
    return decision


def record(
    session: Session, settings: Settings, mission: Mission, decision: Decision | None, actor: str | None = None
) -> None:
    """Audit the decision and open the approval a held mission waits for."""
    if decision is None:
        return
    audit.record(
        session, "governor.decision", mission.id, tenant=mission.tenant, actor=actor, data=decision_event(decision)
    )
    if decision.effect == "deny":
        audit.record(
            session,
            "mission.rejected",
            mission.id,
            tenant=mission.tenant,
            actor=actor,
            data={"rule_id": decision.rule_id, "reason": decision.reason},
        )
    elif decision.effect == "require_approval":
        approvals.request(session, settings, mission, decision.rule_id, actor)


def decision_event(decision: Decision) -> dict[str, Any]:
    return {**decision.record(), "risk_tier": decision.risk_tier, "cached": decision.cached}


def denied_error(mission: Mission) -> PolicyDenied:
    """The 403 for a mission the governor rejected (also on an idempotent replay of it)."""
    decision = mission.decision or {}
    reason = (mission.error or {}).get("message") or decision.get("reason") or "denied by policy"
    return PolicyDenied(
        f"denied by policy: {reason}",
        rule_id=decision.get("rule_id"),
        reason=reason,
        mission_id=str(mission.id),
        policy_version=decision.get("policy_version"),
    )


def recheck(settings: Settings, mission: Mission) -> dict[str, Any] | None:
    """On the worker, after the claim: re-decide only if the policy set changed since the decision.

    A now-denied mission is finished as `rejected` here; returns its error, else None.
    """
    previous = mission.decision
    if not governing(settings) or not previous:
        return None
    store = get_store(settings)
    if store.current().version == previous.get("policy_version"):
        return None
    original = previous.get("inputs") or {}
    decision = decide(settings, inputs_of(mission, original.get("risk_tier"), original.get("priority")))
    error = None
    if decision.effect == "deny":
        error = {
            "code": "policy_denied",
            "message": f"denied by policy on re-check: {decision.reason}",
            "rule_id": decision.rule_id,
        }
    with session_scope(settings.database_url) as session:
        audit.record(
            session,
            "governor.decision",
            mission.id,
            tenant=mission.tenant,
            data={
                **decision_event(decision),
                "recheck": True,
                "previous_policy_version": previous.get("policy_version"),
            },
        )
        if error is not None and execution.finish(
            session, mission, "rejected", error=error, attempt=mission.attempts, settings=settings
        ):
            tenant_metrics.finished(settings, mission.tenant, mission.agent, "rejected")
    return error
