"""Governance end to end: policies decide at enqueue, humans approve over HTTP, reloads are never stale."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.servers import wait_for
from tests.stack import make_stack

pytestmark = pytest.mark.e2e

BASE_POLICY = """
default: allow
rules:
  - id: deny-echo
    description: echo missions asking to be denied are denied.
    priority: 100
    match:
      agent: echo
      payload: [{field: deny, equals: true}]
    effect: deny
    reason: this echo asked to be denied
  - id: hold-echo
    priority: 90
    match:
      agent: echo
      payload: [{field: hold, equals: true}]
    effect: require_approval
  - id: tame-sleep
    priority: 50
    match: {agent: sleep}
    effect: allow
    obligations:
      max_timeout_s: 7
      priority: LOW
      budget: {max_cost_usd: 0.5}
      risk_tier: RESTRICTED
"""


@pytest.fixture(scope="module")
def gov(request, tmp_path_factory):
    """One standard stack (governance on) reading policies from a directory the tests edit."""
    policies = tmp_path_factory.mktemp("policies")
    (policies / "base.yaml").write_text(textwrap.dedent(BASE_POLICY))
    s = make_stack("standard", request, "governance_e2e", BRAIN_POLICIES_DIR=str(policies))
    s.policies = policies  # type: ignore[attr-defined]
    try:
        # One API process: a policy store is per process, and the reload tests read back the
        # version held by whichever process answers.
        s.start_api(BRAIN_API_WORKERS="1")
        s.start_worker(concurrency=2)
        s.start_beat()
        yield s
    finally:
        s.stop()


class ExtraPolicy:
    """Adds a policy file for the duration of a block, then removes it and reloads."""

    def __init__(self, stack, name: str, text: str) -> None:
        self.stack, self.path = stack, Path(stack.policies) / name
        self.text = textwrap.dedent(text)

    def __enter__(self) -> Path:
        self.path.write_text(self.text)
        return self.path

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
        assert self.stack.request("POST", "/api/policies/reload").status_code == 200


def as_user(stack, sub: str, *roles: str) -> str:
    return stack.token(sub=sub, roles=roles or ("operator",))


def submit(stack, agent: str = "echo", payload: dict | None = None, token: str = "", url=None, **fields):
    body = {"name": f"{agent} mission", "agent": agent, "payload": payload or {}, **fields}
    return stack.request("POST", "/api/missions", json=body, token=token, url=url)


def pending_approval(stack, mission_id: str) -> dict:
    page = stack.request("GET", "/api/approvals", params={"status": "pending"}).json()
    return next(a for a in page["items"] if a["mission_id"] == mission_id)


def metric(stack, name: str, **labels: str) -> float:
    text = stack.request("GET", "/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_allowed_mission_runs_and_shows_its_decision(gov):
    resp = submit(gov, "echo", {"x": 1})
    assert resp.status_code == 202, resp.text
    mission = gov.wait_status(resp.json()["id"])
    assert mission["status"] == "succeeded"
    assert mission["risk_tier"] == "SAFE"
    decision = mission["decision"]
    active = gov.request("GET", "/api/policies").json()
    assert (decision["effect"], decision["rule_id"], decision["policy_version"]) == (
        "allow",
        "default",
        active["version"],
    )
    events = gov.events(mission["id"])
    governed = next(e for e in events if e["type"] == "governor.decision")
    assert governed["data"]["decision_id"] == decision["decision_id"]
    assert governed["data"]["inputs"]["agent"] == "echo"
    assert [r["id"] for r in active["rules"]] == ["deny-echo", "hold-echo", "tame-sleep"]


def test_denied_mission_is_403_and_stored_rejected(gov):
    resp = submit(gov, "echo", {"deny": True})
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["error"] == "policy_denied"
    assert body["errors"]["rule_id"] == "deny-echo"
    assert body["errors"]["reason"] == "this echo asked to be denied"
    stored = gov.mission(body["errors"]["mission_id"])
    assert stored["status"] == "rejected"
    assert stored["decision"]["rule_id"] == "deny-echo"
    assert stored["error"]["code"] == "policy_denied"
    assert {"governor.decision", "mission.rejected"} <= {e["type"] for e in gov.events(stored["id"])}


def test_obligations_tighten_the_stored_mission(gov):
    resp = submit(gov, "sleep", {"seconds": 0}, priority="HIGH", timeout_s=60)
    assert resp.status_code == 202, resp.text
    mission = resp.json()
    assert (mission["timeout_s"], mission["priority"], mission["risk_tier"]) == (7, "LOW", "RESTRICTED")
    assert mission["decision"]["obligations"]["budget"] == {"max_cost_usd": 0.5}
    assert gov.wait_status(mission["id"])["status"] == "succeeded"


def test_held_mission_waits_then_runs_once_approved(gov):
    resp = submit(gov, "echo", {"hold": True}, token=as_user(gov, "alice", "operator", "approver"))
    assert resp.status_code == 202, resp.text
    mission = resp.json()
    assert mission["status"] == "awaiting_approval"
    assert mission["submitted_by"] == "alice"
    approval = pending_approval(gov, mission["id"])
    assert approval["rule_id"] == "hold-echo"
    # Nothing was published: a mission submitted after it has run, and it is still untouched.
    later = submit(gov, "echo", {"later": True}).json()
    assert gov.wait_status(later["id"])["status"] == "succeeded"
    held = gov.mission(mission["id"])
    assert (held["status"], held["attempts"], held["started_at"]) == ("awaiting_approval", 0, None)

    url = f"/api/approvals/{approval['id']}/approve"
    viewer = gov.request("POST", url, json={}, token=as_user(gov, "vic", "viewer"))
    assert viewer.status_code == 403  # approving needs the approver role
    own = gov.request("POST", url, json={}, token=as_user(gov, "alice", "approver"))
    assert own.status_code == 403 and own.json()["error"] == "self_approval_forbidden"
    ok = gov.request("POST", url, json={"reason": "fine"}, token=as_user(gov, "bob", "approver"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["approval"]["decided_by"] == "bob"
    assert gov.wait_status(mission["id"])["status"] == "succeeded"
    again = gov.request("POST", url, json={}, token=as_user(gov, "carol", "approver"))
    assert again.status_code == 409
    assert gov.request("GET", f"/api/approvals/{approval['id']}").json()["status"] == "approved"
    types = [e["type"] for e in gov.events(mission["id"])]
    assert types.index("approval.requested") < types.index("approval.granted") < types.index("mission.succeeded")


def test_rejected_approval_rejects_the_mission(gov):
    mission = submit(gov, "echo", {"hold": True}).json()
    approval = pending_approval(gov, mission["id"])
    url = f"/api/approvals/{approval['id']}/reject"
    assert gov.request("POST", url, json={}).status_code == 422  # a reason is required
    resp = gov.request("POST", url, json={"reason": "not today"}, token=as_user(gov, "bob", "approver"))
    assert resp.status_code == 200, resp.text
    stored = gov.mission(mission["id"])
    assert stored["status"] == "rejected"
    assert stored["error"] == {"code": "approval_rejected", "message": "not today"}
    assert gov.request("POST", url, json={"reason": "twice"}).status_code == 409
    assert "approval.rejected" in {e["type"] for e in gov.events(mission["id"])}


def test_unanswered_approval_expires(gov):
    _, api = gov.start_api(APPROVAL_TTL_S="1")
    mission = submit(gov, "echo", {"hold": True}, url=api).json()
    approval = pending_approval(gov, mission["id"])
    stored = gov.wait_status(mission["id"], "rejected", timeout=30)  # the sweeper expires it
    assert stored["error"]["code"] == "expired"
    approval = gov.request("GET", f"/api/approvals/{approval['id']}").json()
    assert (approval["status"], approval["reason"]) == ("expired", "expired")
    late = gov.request("POST", f"/api/approvals/{approval['id']}/approve", json={})
    assert late.status_code == 409
    assert "approval.expired" in {e["type"] for e in gov.events(mission["id"])}


def test_repeated_decision_is_served_from_the_cache(gov):
    before = metric(gov, "governor_cache_requests_total", result="hit")
    first = submit(gov, "echo", {"n": 1}, priority="HIGH").json()
    second = submit(gov, "echo", {"n": 2}, priority="HIGH").json()  # `n` is tested by no rule: same key
    assert metric(gov, "governor_cache_requests_total", result="hit") > before
    assert metric(gov, "governor_decisions_total", effect="allow") >= 2
    assert first["decision"]["decision_id"] != second["decision"]["decision_id"]
    cached = next(e for e in gov.events(second["id"]) if e["type"] == "governor.decision")
    assert cached["data"]["cached"] is True


def test_no_stale_decision_after_a_policy_change(gov):
    assert submit(gov, "echo", {"v": 1}).status_code == 202  # cached as allowed
    old = gov.request("GET", "/api/policies").json()["version"]
    with ExtraPolicy(
        gov,
        "stop-echo.yaml",
        """
            rules:
              - {id: stop-echo, priority: 500, match: {agent: echo}, effect: deny, reason: echo is off}
            """,
    ):
        # An edited directory is noticed by every process, before any explicit reload.
        denied = submit(gov, "echo", {"v": 1})
        assert denied.status_code == 403 and denied.json()["errors"]["rule_id"] == "stop-echo"
        reload = gov.request("POST", "/api/policies/reload").json()
        assert reload["version"] != old and "stop-echo.yaml" in [f["name"] for f in reload["files"]]
    allowed = submit(gov, "echo", {"v": 1})
    assert allowed.status_code == 202 and allowed.json()["decision"]["policy_version"] == old


def test_a_broken_policy_file_keeps_the_last_good_set(gov):
    good = gov.request("GET", "/api/policies").json()["version"]
    with ExtraPolicy(
        gov,
        "broken.yaml",
        """
            rules:
              - id: half-done
                effect: deny
                match: {agent: echo, priority: SOMETIMES}
            """,
    ):
        resp = gov.request("POST", "/api/policies/reload")
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"] == "policy_invalid" and body["errors"]["active_version"] == good
        problem = body["errors"]["problems"][0]
        assert (problem["file"], problem["rule"], problem["field"], problem["line"]) == (
            "broken.yaml",
            "half-done",
            "match.priority",
            5,
        )  # the text starts with a newline
        shown = gov.request("GET", "/api/policies").json()
        assert shown["version"] == good and shown["problems"][0]["rule"] == "half-done"
        still = submit(gov, "echo", {"x": 2})
        assert still.status_code == 202 and still.json()["decision"]["policy_version"] == good


def test_worker_rechecks_when_the_policy_set_changed(gov):
    mission = submit(gov, "echo", {"hold": True, "recheck": True}).json()
    approval = pending_approval(gov, mission["id"])
    with ExtraPolicy(
        gov,
        "recheck.yaml",
        """
            rules:
              - id: recheck-deny
                priority: 900
                match:
                  agent: echo
                  payload: [{field: recheck, equals: true}]
                effect: deny
                reason: denied since the decision
            """,
    ):
        ok = gov.request(
            "POST", f"/api/approvals/{approval['id']}/approve", json={}, token=as_user(gov, "bob", "approver")
        )
        assert ok.status_code == 200
        stored = gov.wait_status(mission["id"], {"rejected", "succeeded"})
    assert stored["status"] == "rejected"
    assert stored["error"]["code"] == "policy_denied"
    rechecks = [e for e in gov.events(mission["id"]) if e["type"] == "governor.decision"]
    assert rechecks[-1]["data"]["recheck"] is True and rechecks[-1]["data"]["rule_id"] == "recheck-deny"


@pytest.mark.parametrize("stack", ["minimal"], indirect=True)
def test_governance_is_off_on_minimal(stack):
    mission = stack.submit("echo", {"deny": True, "hold": True})
    assert mission["status"] == "queued" and mission["decision"] is None
    assert mission["risk_tier"] == "SAFE"
    assert stack.request("GET", "/api/policies").json()["governance_enabled"] is False


def test_sighup_makes_the_api_reload_its_policies(gov):
    import os
    import signal
    import time

    import psutil

    api_proc = next(p for p in gov.procs if p.name == "api")  # the gunicorn master (`brain api` execs it)
    old_workers = {c.pid for c in psutil.Process(api_proc.popen.pid).children()}
    before = time.time()
    os.kill(api_proc.popen.pid, signal.SIGHUP)

    def reloaded() -> bool:
        workers = {c.pid for c in psutil.Process(api_proc.popen.pid).children()}
        if not workers or workers & old_workers:
            return False
        try:
            shown = gov.request("GET", "/api/policies", timeout=5).json()
        except Exception:  # noqa: BLE001 - workers are restarting
            return False
        return shown["loaded_at"] > before and not shown["problems"]

    # New worker processes, each with a freshly loaded policy set.
    wait_for(reloaded, 30, 0.2, what="the API's workers to reload the policies after SIGHUP")
    assert api_proc.alive()
    assert submit(gov, "echo", {"after": "hup"}).status_code == 202
