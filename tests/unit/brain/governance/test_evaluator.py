"""Policy files: validation errors that point at the problem, and evaluation order."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from brain.governance import Inputs, PolicyError, evaluate, explain, load_directory
from brain.governance.evaluator import cache_key
from tests.processes import REPO

GOOD = """
default: deny
tenant_plans: {acme: pro}
rules:
  - id: low-prio-first
    priority: 1
    match: {agent: "*"}
    effect: allow
  - id: restricted
    priority: 100
    match: {risk_tier: RESTRICTED}
    effect: require_approval
    obligations: {max_timeout_s: 30, priority: LOW}
  - id: big-llm
    priority: 50
    match:
      agent: "llm.*"
      payload:
        - {field: options.max_tokens, gt: 1000}
    effect: deny
    reason: too many tokens
  - id: pro-tenants
    priority: 40
    match: {tenant_plan: pro, priority: [HIGH, CRITICAL]}
    effect: allow
    obligations: {risk_tier: RESTRICTED, budget: {max_cost_usd: 2.5}}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(directory: Path) -> list:
    with pytest.raises(PolicyError) as info:
        load_directory(directory)
    return info.value.problems


def test_rules_are_ordered_by_priority_and_the_first_match_decides(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    policies = load_directory(tmp_path)
    assert [r.id for r in policies.rules] == ["restricted", "big-llm", "pro-tenants", "low-prio-first"]
    held = evaluate(policies, Inputs(agent="echo", risk_tier="RESTRICTED"))
    assert (held.effect, held.rule_id, held.obligations) == (
        "require_approval",
        "restricted",
        {"max_timeout_s": 30, "priority": "LOW"},
    )
    denied = evaluate(policies, Inputs(agent="llm.chat", payload={"options": {"max_tokens": 5000}}))
    assert (denied.effect, denied.rule_id, denied.reason) == ("deny", "big-llm", "too many tokens")
    small = evaluate(policies, Inputs(agent="llm.chat", payload={"options": {"max_tokens": 10}}))
    assert small.rule_id == "low-prio-first"


def test_tenant_plan_and_risk_tier_raise(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    policies = load_directory(tmp_path)
    verdict = evaluate(policies, Inputs(agent="echo", risk_tier="SAFE", tenant="acme", priority="HIGH"))
    assert verdict.rule_id == "pro-tenants"
    assert verdict.risk_tier == "RESTRICTED"
    assert verdict.obligations["budget"] == {"max_cost_usd": 2.5}


def test_default_effect_when_nothing_matches(tmp_path):
    write(
        tmp_path,
        "a.yaml",
        "default: require_approval\nrules:\n  - {id: only-echo, match: {agent: echo}, effect: allow}\n",
    )
    verdict = evaluate(load_directory(tmp_path), Inputs(agent="sleep"))
    assert (verdict.effect, verdict.rule_id) == ("require_approval", "default")


def test_payload_operators(tmp_path):
    write(
        tmp_path,
        "a.yaml",
        """
rules:
  - id: r
    match:
      payload:
        - {field: model, in: [small, medium]}
        - {field: n, gte: 2, lt: 5}
        - {field: secret, exists: false}
        - {field: mode, equals: fast}
    effect: deny
""",
    )
    policies = load_directory(tmp_path)
    base = {"model": "small", "n": 2, "mode": "fast"}
    assert evaluate(policies, Inputs(agent="x", payload=base)).effect == "deny"
    for change in ({"model": "large"}, {"n": 5}, {"n": "3"}, {"secret": 1}, {"mode": "slow"}):
        assert evaluate(policies, Inputs(agent="x", payload={**base, **change})).effect == "allow", change


def test_an_error_names_file_rule_field_and_line(tmp_path):
    write(tmp_path, "ok.yaml", GOOD)
    write(
        tmp_path,
        "bad.yaml",
        """
rules:
  - id: fine
    effect: allow
  - id: broken
    effect: allow
    obligations:
      max_timeout_s: -5
""",
    )
    found = problems(tmp_path)
    assert len(found) == 1
    p = found[0]
    assert (p.file, p.rule, p.field, p.line) == ("bad.yaml", "broken", "obligations.max_timeout_s", 8)
    assert "bad.yaml:8: rule 'broken': field 'obligations.max_timeout_s'" in str(p)


def test_every_problem_is_listed(tmp_path):
    write(
        tmp_path,
        "bad.yaml",
        """
default: maybe
rules:
  - id: a
    effect: permit
    match: {agentt: echo, priority: URGENT}
  - effect: allow
  - id: c
    effect: deny
    match:
      payload:
        - {field: n, lt: "ten"}
        - {field: m, near: 3}
""",
    )
    fields = {(p.rule, p.field) for p in problems(tmp_path)}
    assert {
        (None, "default"),
        ("a", "effect"),
        ("a", "match.agentt"),
        ("a", "match.priority"),
        ("#2", "id"),
        ("c", "match.payload.n"),
        ("c", "match.payload.m"),
    } <= fields


def test_duplicate_ids_across_files_and_yaml_syntax_errors(tmp_path):
    write(tmp_path, "a.yaml", "rules:\n  - {id: same, effect: allow}\n")
    write(tmp_path, "b.yaml", "rules:\n  - {id: same, effect: deny}\n")
    dup = problems(tmp_path)
    assert dup[0].rule == "same" and "a.yaml" in dup[0].message
    (tmp_path / "b.yaml").write_text("rules:\n  - id: x\n    effect: [allow\n")
    syntax = problems(tmp_path)
    assert syntax[0].file == "b.yaml" and syntax[0].line is not None and "invalid YAML" in syntax[0].message


def test_version_is_a_content_hash_and_the_cache_key_ignores_untested_payload(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    first = load_directory(tmp_path)
    assert load_directory(tmp_path).version == first.version
    one = cache_key(first, Inputs(agent="llm.chat", payload={"prompt": "a", "options": {"max_tokens": 5}}))
    two = cache_key(first, Inputs(agent="llm.chat", payload={"prompt": "b", "options": {"max_tokens": 5}}))
    three = cache_key(first, Inputs(agent="llm.chat", payload={"prompt": "b", "options": {"max_tokens": 6}}))
    assert one == two != three
    write(tmp_path, "a.yaml", GOOD + "\n# edited\n")
    assert load_directory(tmp_path).version != first.version


def test_explain_traces_rules_up_to_the_deciding_one(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    trace, verdict = explain(load_directory(tmp_path), Inputs(agent="echo", risk_tier="SAFE"))
    assert [(s["rule"], s["matched"]) for s in trace] == [
        ("restricted", False),
        ("big-llm", False),
        ("pro-tenants", False),
        ("low-prio-first", True),
    ]
    assert "risk_tier 'SAFE'" in trace[0]["why"]
    assert verdict.rule_id == "low-prio-first"


def test_the_shipped_policy_set_is_valid():
    policies = load_directory(REPO / "policies")
    assert evaluate(policies, Inputs(agent="x", risk_tier="RESTRICTED")).effect == "require_approval"
    assert evaluate(policies, Inputs(agent="echo", risk_tier="SAFE")).effect == "allow"
