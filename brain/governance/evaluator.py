"""Evaluating a policy set: rules by explicit priority, the first match decides."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from brain.agents.base import RISK_TIERS
from brain.governance.loader import PolicySet
from brain.governance.schema import Condition, Rule

_MISSING = object()
GLOB_KEYS = ("agent", "tenant", "tenant_plan")


@dataclass(frozen=True)
class Inputs:
    """What a decision depends on."""

    agent: str
    risk_tier: str = "STANDARD"
    tenant: str = "default"
    priority: str = "NORMAL"
    action: str = "submit"
    tenant_plan: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def normalised(self, policies: PolicySet) -> dict[str, Any]:
        """The inputs that can change the outcome: payload reduced to the fields rules test."""
        projected = {}
        for path in policies.payload_fields:
            value = lookup(self.payload, path)
            projected[path] = None if value is _MISSING else {"v": value}
        return {
            "agent": self.agent,
            "action": self.action,
            "tenant": self.tenant,
            "tenant_plan": self.plan(policies),
            "risk_tier": self.risk_tier,
            "priority": self.priority,
            "payload": projected,
        }

    def plan(self, policies: PolicySet) -> str | None:
        return self.tenant_plan or policies.tenant_plans.get(self.tenant)


def cache_key(policies: PolicySet, inputs: Inputs) -> str:
    canonical = json.dumps(inputs.normalised(policies), sort_keys=True, separators=(",", ":"), default=str)
    return f"{policies.version}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Verdict:
    effect: str
    rule_id: str
    reason: str
    obligations: dict[str, Any]
    risk_tier: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "effect": self.effect,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "obligations": self.obligations,
            "risk_tier": self.risk_tier,
        }


def lookup(payload: Any, path: str) -> Any:
    """A dotted path into nested dicts; _MISSING when any step is absent."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        return (actual is not _MISSING) == expected
    if actual is _MISSING:
        return False
    if op == "equals":
        return actual == expected
    if op == "in":
        return actual in expected
    if not isinstance(actual, (int, float)) or isinstance(actual, bool):
        return False
    return {"lt": actual < expected, "lte": actual <= expected, "gt": actual > expected, "gte": actual >= expected}[op]


def condition_holds(cond: Condition, payload: dict[str, Any]) -> bool:
    actual = lookup(payload, cond.field)
    return all(_compare(op, actual, expected) for op, expected in cond.ops)


def mismatch(rule: Rule, inputs: Inputs, policies: PolicySet) -> str | None:
    """Why `rule` does not match (None when it does)."""
    values = {
        "agent": inputs.agent,
        "action": inputs.action,
        "tenant": inputs.tenant,
        "tenant_plan": inputs.plan(policies),
        "risk_tier": inputs.risk_tier,
        "priority": inputs.priority,
    }
    for key, wanted in rule.match:
        actual = values[key]
        if key in GLOB_KEYS:
            ok = actual is not None and any(fnmatch.fnmatchcase(actual, w) for w in wanted)
        else:
            ok = actual in wanted
        if not ok:
            return f"{key} {actual!r} not in {list(wanted)}"
    for cond in rule.conditions:
        if not condition_holds(cond, inputs.payload):
            return f"payload.{cond.field} fails {dict(cond.ops)}"
    return None


def _verdict(effect: str, rule_id: str, reason: str, obligations: dict[str, Any], inputs: Inputs) -> Verdict:
    tier = inputs.risk_tier if inputs.risk_tier in RISK_TIERS else "STANDARD"
    raised = obligations.get("risk_tier")
    if raised and RISK_TIERS.index(raised) > RISK_TIERS.index(tier):
        tier = raised  # a policy may raise the agent's tier, never lower it
    return Verdict(effect, rule_id, reason, dict(obligations) if effect != "deny" else {}, tier)


def evaluate(policies: PolicySet, inputs: Inputs) -> Verdict:
    for rule in policies.rules:
        if mismatch(rule, inputs, policies) is None:
            reason = rule.reason or rule.description or f"rule {rule.id}"
            return _verdict(rule.effect, rule.id, reason, rule.obligations, inputs)
    return _verdict(
        policies.default, "default", f"no rule matched; the default effect is {policies.default}", {}, inputs
    )


def explain(policies: PolicySet, inputs: Inputs) -> tuple[list[dict[str, Any]], Verdict]:
    """Each rule in evaluation order with why it did or did not match, up to the deciding one."""
    trace = []
    for rule in policies.rules:
        why = mismatch(rule, inputs, policies)
        trace.append(
            {
                "rule": rule.id,
                "file": rule.file,
                "priority": rule.priority,
                "effect": rule.effect,
                "matched": why is None,
                "why": why or "all match conditions hold",
            }
        )
        if why is None:
            break
    return trace, evaluate(policies, inputs)
