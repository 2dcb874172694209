"""Policy files: parse YAML with line numbers, validate every field, build immutable rules."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from brain.agents.base import RISK_TIERS
from brain.lined_yaml import LinedYAML, yaml_error
from brain.models.mission import PRIORITIES

EFFECTS = ("allow", "require_approval", "deny")
ACTIONS = ("submit",)
OPERATORS = ("equals", "in", "lt", "lte", "gt", "gte", "exists")
MATCH_KEYS = ("agent", "action", "tenant", "tenant_plan", "risk_tier", "priority", "payload")
RULE_KEYS = ("id", "description", "priority", "match", "effect", "reason", "obligations")
FILE_KEYS = ("version", "description", "default", "tenant_plans", "rules")
OBLIGATION_KEYS = ("max_timeout_s", "budget", "priority", "risk_tier")
BUDGET_KEYS = ("max_tokens", "max_cost_usd")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")


@dataclass(frozen=True)
class Problem:
    """One validation error, located as precisely as the parser allows."""

    file: str
    message: str
    rule: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.rule:
            parts.append(f"rule {self.rule!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ": ".join(parts) + f": {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rule": self.rule, "field": self.field, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class Condition:
    """A test on one payload field (dotted path); every operator given must hold."""

    field: str
    ops: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Rule:
    id: str
    file: str
    index: int
    priority: int
    effect: str
    description: str = ""
    reason: str = ""
    match: tuple[tuple[str, tuple[str, ...]], ...] = ()
    conditions: tuple[Condition, ...] = ()
    obligations: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        match: dict[str, Any] = {k: list(v) for k, v in self.match}
        if self.conditions:
            match["payload"] = [{"field": c.field, **dict(c.ops)} for c in self.conditions]
        return {
            "id": self.id,
            "file": self.file,
            "priority": self.priority,
            "effect": self.effect,
            "description": self.description,
            "reason": self.reason,
            "match": match,
            "obligations": self.obligations,
        }


@dataclass(frozen=True)
class PolicyFile:
    name: str
    sha256: str
    default: str | None
    rules: tuple[Rule, ...]
    tenant_plans: dict[str, str]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Validator:
    """Checks one parsed file and collects every problem instead of stopping at the first."""

    def __init__(self, name: str, doc: LinedYAML) -> None:
        self.name, self.doc = name, doc
        self.problems: list[Problem] = []

    def fail(self, message: str, path: tuple, rule: str | None = None, field_name: str | None = None) -> None:
        self.problems.append(Problem(self.name, message, rule, field_name, self.doc.line(*path)))

    def file(self, sha: str) -> PolicyFile:
        data = self.doc.data
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("a policy file must be a mapping with `rules`", ())
            return PolicyFile(self.name, sha, None, (), {})
        for key in data:
            if key not in FILE_KEYS:
                self.fail(f"unknown key; valid: {', '.join(FILE_KEYS)}", (key,), field_name=str(key))
        default = data.get("default")
        if default is not None and default not in EFFECTS:
            self.fail(f"must be one of {', '.join(EFFECTS)}", ("default",), field_name="default")
            default = None
        plans = self._plans(data.get("tenant_plans", {}))
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            self.fail("must be a list of rules", ("rules",), field_name="rules")
            raw_rules = []
        rules = [self.rule(i, raw) for i, raw in enumerate(raw_rules)]
        return PolicyFile(self.name, sha, default, tuple(r for r in rules if r is not None), plans)

    def _plans(self, plans: Any) -> dict[str, str]:
        if not isinstance(plans, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in plans.items()):
            self.fail("must map tenant names to plan names", ("tenant_plans",), field_name="tenant_plans")
            return {}
        return dict(plans)

    def rule(self, index: int, raw: Any) -> Rule | None:
        path = ("rules", index)
        if not isinstance(raw, dict):
            self.fail("a rule must be a mapping", path, rule=f"#{index + 1}")
            return None
        rid = raw.get("id")
        label = rid if isinstance(rid, str) else f"#{index + 1}"
        before = len(self.problems)
        if not isinstance(rid, str) or not RULE_ID.match(rid):
            self.fail("required; letters, digits and _ . : - (max 200)", (*path, "id"), label, "id")
        for key in raw:
            if key not in RULE_KEYS:
                self.fail(f"unknown key; valid: {', '.join(RULE_KEYS)}", (*path, key), label, str(key))
        effect = raw.get("effect")
        if effect not in EFFECTS:
            self.fail(f"required; one of {', '.join(EFFECTS)}", (*path, "effect"), label, "effect")
        priority = raw.get("priority", 0)
        if not _is_int(priority):
            self.fail("must be an integer (higher is evaluated first)", (*path, "priority"), label, "priority")
        for text_key in ("description", "reason"):
            if text_key in raw and not isinstance(raw[text_key], str):
                self.fail("must be a string", (*path, text_key), label, text_key)
        match, conditions = self.match(raw.get("match", {}), path, label)
        obligations = self.obligations(raw.get("obligations", {}), path, label)
        if len(self.problems) > before:
            return None
        return Rule(
            id=rid,
            file=self.name,
            index=index,
            priority=priority,
            effect=effect,
            description=raw.get("description", ""),
            reason=raw.get("reason", ""),
            match=match,
            conditions=conditions,
            obligations=obligations,
        )

    def match(self, raw: Any, path: tuple, label: str) -> tuple[tuple, tuple[Condition, ...]]:
        path = (*path, "match")
        if not isinstance(raw, dict):
            self.fail("must be a mapping", path, label, "match")
            return (), ()
        out = []
        for key, value in raw.items():
            if key not in MATCH_KEYS:
                self.fail(f"unknown key; valid: {', '.join(MATCH_KEYS)}", (*path, key), label, f"match.{key}")
            elif key != "payload":
                values = self._strings(value, (*path, key), label, f"match.{key}")
                allowed = {"risk_tier": RISK_TIERS, "priority": PRIORITIES, "action": ACTIONS}.get(key)
                for v in values:
                    if allowed and v not in allowed:
                        self.fail(f"{v!r} is not one of {', '.join(allowed)}", (*path, key), label, f"match.{key}")
                out.append((key, values))
        conditions = self.conditions(raw.get("payload", []), (*path, "payload"), label)
        return tuple(out), conditions

    def _strings(self, value: Any, path: tuple, label: str, name: str) -> tuple[str, ...]:
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            self.fail("must be a non-empty string or list of strings", path, label, name)
            return ()
        return tuple(values)

    def conditions(self, raw: Any, path: tuple, label: str) -> tuple[Condition, ...]:
        if not isinstance(raw, list):
            self.fail("must be a list of conditions", path, label, "match.payload")
            return ()
        out = []
        for i, cond in enumerate(raw):
            cpath = (*path, i)
            if not isinstance(cond, dict) or not isinstance(cond.get("field"), str) or not cond.get("field"):
                self.fail("each condition needs a `field` (a dotted payload path)", cpath, label, "match.payload")
                continue
            name = f"match.payload.{cond['field']}"
            ops = [(k, v) for k, v in cond.items() if k != "field"]
            if not ops:
                self.fail(f"needs an operator: {', '.join(OPERATORS)}", cpath, label, name)
            for op, value in ops:
                self._operator(op, value, (*cpath, op), label, name)
            out.append(Condition(cond["field"], tuple(sorted(ops, key=lambda o: o[0]))))
        return tuple(out)

    def _operator(self, op: str, value: Any, path: tuple, label: str, name: str) -> None:
        if op not in OPERATORS:
            self.fail(f"unknown operator {op!r}; valid: {', '.join(OPERATORS)}", path, label, name)
        elif op in ("lt", "lte", "gt", "gte") and not _is_number(value):
            self.fail(f"`{op}` needs a number", path, label, name)
        elif op == "in" and not isinstance(value, list):
            self.fail("`in` needs a list", path, label, name)
        elif op == "exists" and not isinstance(value, bool):
            self.fail("`exists` needs true or false", path, label, name)

    def obligations(self, raw: Any, path: tuple, label: str) -> dict[str, Any]:
        path = (*path, "obligations")
        if not isinstance(raw, dict):
            self.fail("must be a mapping", path, label, "obligations")
            return {}
        for key, value in raw.items():
            name, kpath = f"obligations.{key}", (*path, key)
            if key not in OBLIGATION_KEYS:
                self.fail(f"unknown key; valid: {', '.join(OBLIGATION_KEYS)}", kpath, label, name)
            elif key == "max_timeout_s" and not (_is_int(value) and value > 0):
                self.fail("must be a positive integer (seconds)", kpath, label, name)
            elif key == "priority" and value not in PRIORITIES:
                self.fail(f"must be one of {', '.join(PRIORITIES)}", kpath, label, name)
            elif key == "risk_tier" and value not in RISK_TIERS:
                self.fail(f"must be one of {', '.join(RISK_TIERS)}", kpath, label, name)
            elif key == "budget":
                self._budget(value, kpath, label)
        return dict(raw)

    def _budget(self, value: Any, path: tuple, label: str) -> None:
        if not isinstance(value, dict) or not value:
            self.fail(f"must be a mapping with {' and/or '.join(BUDGET_KEYS)}", path, label, "obligations.budget")
            return
        for key, cap in value.items():
            name = f"obligations.budget.{key}"
            if key not in BUDGET_KEYS:
                self.fail(f"unknown key; valid: {', '.join(BUDGET_KEYS)}", (*path, key), label, name)
            elif not _is_number(cap) or cap <= 0 or (key == "max_tokens" and not _is_int(cap)):
                self.fail("must be a positive number", (*path, key), label, name)


def parse_file(name: str, text: str, sha: str) -> tuple[PolicyFile | None, list[Problem]]:
    """Validate one file's text; (file, []) or (None, problems)."""
    try:
        doc = LinedYAML(text)
    except yaml.YAMLError as exc:
        message, line = yaml_error(exc)
        return None, [Problem(name, message, line=line)]
    validator = _Validator(name, doc)
    parsed = validator.file(sha)
    return (None, validator.problems) if validator.problems else (parsed, [])


def policy_files(directory: Path) -> list[Path]:
    """The policy files of a directory, in name order (*.yaml and *.yml, no hidden files)."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and fnmatch.fnmatch(p.name, "*.y*ml")
        and p.suffix in (".yaml", ".yml")
    )
