"""BRAIN_MODULES is real: a module that is off has no routes and no rails; /api/missions/info lists the enabled ones."""

from __future__ import annotations

import pytest

from brain.profiles import ALL_MODULES, PROFILES

pytestmark = pytest.mark.e2e


def test_info_lists_the_profiles_modules_and_only_their_routes_exist(stack):
    modules = stack.request("GET", "/api/missions/info").json()["modules"]
    assert modules == list(PROFILES[stack.profile]["modules"])
    expect = 200 if "governance" in modules else 404
    for path in ("/api/policies", "/api/approvals"):
        assert stack.request("GET", path).status_code == expect, path
    paths = stack.request("GET", "/api/openapi.json").json()["paths"]
    assert ("/api/policies" in paths) == ("governance" in modules)
    assert "/api/neurorail/reflexes" in paths and "/api/events" in paths


def test_a_deployment_without_neurorail_audit_or_metrics(bare_stack):
    _, url = bare_stack.start_api(BRAIN_MODULES="missions,security")
    bare_stack.start_worker(concurrency=1, BRAIN_MODULES="missions,security")
    info = bare_stack.request("GET", "/api/missions/info", url=url).json()
    assert info["modules"] == ["missions", "security"]
    for path in ("/api/neurorail/reflexes", "/api/budgets", "/api/events", "/api/system/health", "/api/policies"):
        resp = bare_stack.request("GET", path, url=url)
        assert resp.status_code == 404 and resp.json()["error"] == "not_found", path
    assert bare_stack.request("GET", "/metrics", url=url).status_code == 404
    # No budget rail: a mission's own budget is not enforced (with neurorail on it ends over_budget).
    body = {"name": "spend", "agent": "test.spend", "payload": {"steps": 3, "tokens": 10}, "budget": {"max_tokens": 5}}
    mission = bare_stack.request("POST", "/api/missions", url=url, json=body).json()
    bare_stack.api_url = url
    assert bare_stack.wait_status(mission["id"])["status"] == "succeeded"


def test_missions_cannot_be_switched_off(bare_stack):
    out = bare_stack.brain("db", "current", env={**bare_stack.env, "BRAIN_MODULES": "neurorail"}, check=False)
    assert out.returncode == 2 and "must include missions" in out.stderr
    assert set(ALL_MODULES) >= {"missions", "neurorail", "governance", "audit", "metrics", "security"}


def test_a_single_tenant_deployment_ignores_the_tokens_tenant(bare_stack):
    # Both profiles leave BRAIN_MULTI_TENANCY off: everyone is in the one tenant, "default".
    token = bare_stack.token(sub="alice", tenant="acme", roles=("admin",))
    mission = bare_stack.request("POST", "/api/missions", token=token, json={"name": "t", "agent": "echo"}).json()
    assert (mission["tenant"], mission["submitted_by"]) == ("default", "alice")
    other = bare_stack.token(sub="eve", tenant="globex", roles=("viewer",))
    assert bare_stack.request("GET", f"/api/missions/{mission['id']}", token=other).json()["tenant"] == "default"
