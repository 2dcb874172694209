"""Tenants over HTTP and the CLI on a multi-tenant deployment: records, suspension everywhere, held missions."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.stack import FINAL, PROFILES, make_stack

pytestmark = pytest.mark.e2e


def _shape(resp, status: int, error: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert (body["code"], body["error"]) == (status, error), body
    assert body["message"] and "Traceback" not in resp.text
    return body


def _row(stack, mission_id: str) -> dict:
    """A mission's status and attempts straight from the database (the platform admin's token sees only `default`)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.admin_database_url)
    key = mission_id if stack.admin_database_url.startswith("postgres") else uuid.UUID(mission_id).hex
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT status, attempts FROM missions WHERE id = :m"), {"m": key}).one()
    finally:
        engine.dispose()
    return {"status": row[0], "attempts": row[1]}


def _wait_row(stack, mission_id: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(stack, mission_id)
        if row["status"] in statuses:
            return row
        time.sleep(0.2)
    raise AssertionError(f"mission {mission_id} stayed {row}")


def _paced(stack, method: str, path: str, token: str, **kwargs):
    """A request from a client that honours `Retry-After` when it meets its tenant's api_requests_per_s."""
    for _ in range(20):
        resp = stack.request(method, path, token=token, **kwargs)
        if resp.status_code != 429 or "api_requests_per_s" not in resp.json()["message"]:
            return resp
        time.sleep(int(resp.headers["Retry-After"]))
    raise AssertionError(f"{method} {path} stayed rate limited")


def _slug(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_admin_api_creates_changes_and_lists_tenants(stack):
    tid = _slug("acme")
    made = stack.request(
        "POST", "/api/tenants", json={"id": tid, "name": "Acme Corp", "plan": "free", "limits": {"running_max": 4}}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["plan"], body["weight"]) == ("active", "free", 1)
    assert body["limits"]["running_max"] == 4 and body["limits"]["submissions_per_hour"] == 500
    assert body["overrides"] == {"weight": None, "limits": {"running_max": 4}}

    _shape(stack.request("POST", "/api/tenants", json={"id": tid, "name": "again"}), 409, "conflict")
    bad = _shape(
        stack.request("POST", "/api/tenants", json={"id": "Not A Slug", "name": "x"}), 422, "validation_failed"
    )
    assert "id" in bad["errors"]["json"]
    bad = _shape(
        stack.request("POST", "/api/tenants", json={"id": _slug("x"), "name": "x", "limits": {"gpus": 3}}),
        422,
        "validation_failed",
    )
    assert "gpus" in json.dumps(bad["errors"])
    _shape(stack.request("PATCH", f"/api/tenants/{tid}", json={}), 422, "validation_failed")

    patched = stack.request(
        "PATCH", f"/api/tenants/{tid}", json={"plan": "standard", "weight": 5, "limits": {"running_max": None}}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["plan"], patched.json()["weight"], patched.json()["limits"]["running_max"]) == (
        "standard",
        5,
        20,
    )
    assert stack.request("GET", f"/api/tenants/{tid}").json() == patched.json()
    _shape(stack.request("GET", "/api/tenants/no-such-tenant"), 404, "not_found")

    ids, cursor = set(), None
    while True:
        page = stack.request(
            "GET", "/api/tenants", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        ids |= {t["id"] for t in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert {"default", tid} <= ids

    events = stack.request("GET", "/api/events", params={"type": "tenant.updated", "limit": 200}).json()["items"]
    change = next(e for e in events if e["data"].get("tenant") == tid)
    assert change["data"]["changes"]["weight"] == {"from": None, "to": 5} and change["actor"] == "e2e-admin"


def test_only_the_platforms_admins_manage_tenants_and_tokens_must_name_a_live_tenant(stack):
    other_admin = stack.token(sub="boss", tenant=_slug("cust"), roles=("admin",))
    _shape(stack.request("GET", "/api/tenants", token=other_admin), 403, "forbidden")
    _shape(
        stack.request("POST", "/api/tenants", token=other_admin, json={"id": _slug("y"), "name": "y"}), 403, "forbidden"
    )
    operator = stack.token(sub="op", roles=("operator",))
    _shape(stack.request("GET", "/api/tenants", token=operator), 403, "forbidden")

    from tests.stack import mint_token

    ghost = mint_token("casper", tenant=_slug("ghost"), roles=("admin",))  # no tenant record
    _shape(stack.request("GET", "/api/missions", token=ghost), 403, "tenant_unknown")

    gone = _slug("gone")
    token = stack.token(sub="u", tenant=gone, roles=("operator",))
    assert stack.request("GET", "/api/missions", token=token).status_code == 200
    assert stack.request("DELETE", f"/api/tenants/{gone}").json()["status"] == "deleted"
    time.sleep(1.0)  # the documented bound for a change to reach every API process
    for _ in range(6):  # both gunicorn workers
        _shape(stack.request("GET", "/api/missions", token=token), 401, "tenant_deleted")
    _shape(stack.request("PATCH", f"/api/tenants/{gone}", json={"name": "back"}), 409, "conflict")
    _shape(stack.request("POST", "/api/tenants/default/suspend", json={"reason": "no"}), 409, "conflict")


@pytest.fixture(params=PROFILES)
def tenant_stack(request):
    """A multi-tenant API whose worker the test starts when it wants missions to run."""
    s = make_stack(request.param, request, f"tenants_{request.param}", BRAIN_MULTI_TENANCY="true")
    try:
        s.start_api()
        yield s
    finally:
        s.stop()


def test_suspension_refuses_every_call_holds_queued_missions_and_lets_running_ones_finish(tenant_stack):
    stack = tenant_stack
    tid = _slug("sus")
    user = stack.token(sub="alice", tenant=tid, roles=("operator",))
    neighbour = stack.token(sub="bob", tenant=_slug("nb"), roles=("operator",))

    def submit(token, agent="echo", payload=None):
        resp = stack.request(
            "POST", "/api/missions", token=token, json={"name": "m", "agent": agent, "payload": payload or {}}
        )
        assert resp.status_code == 202, resp.text
        return resp.json()["id"]

    stack.start_worker(concurrency=1)
    running = submit(user, "sleep", {"seconds": 3})
    _wait_row(stack, running, {"running"})
    # Queued behind it on the one slot (message in the broker before the suspension).
    queued = [submit(user) for _ in range(3)]

    resp = stack.request("POST", f"/api/tenants/{tid}/suspend", json={"reason": "invoice overdue"})
    assert resp.status_code == 200 and resp.json()["status"] == "suspended", resp.text
    time.sleep(1.0)  # the documented bound for a suspension to reach every process
    for _ in range(6):
        body = _shape(stack.request("GET", "/api/missions", token=user), 403, "tenant_suspended")
        assert "invoice overdue" in body["message"]
    _shape(
        stack.request("POST", "/api/missions", token=user, json={"name": "m", "agent": "echo"}), 403, "tenant_suspended"
    )
    other = submit(neighbour)  # other tenants go on as before

    assert _wait_row(stack, running, FINAL)["status"] == "succeeded"  # running missions finish
    assert _wait_row(stack, other, FINAL)["status"] == "succeeded"
    for mid in queued:
        assert _row(stack, mid) == {"status": "queued", "attempts": 0}  # held: not run, not lost
        # One already handed to the broker is held when a worker takes its message; one still in the
        # tenant's backlog (fair scheduling) is not admitted while the tenant is suspended.
        for held in (e for e in stack.events(mid) if e["type"] == "mission.held"):
            data = json.loads(held["data"]) if isinstance(held["data"], str) else held["data"]  # raw SQLite JSON
            assert data == {"reason": "tenant_suspended"}
        assert not [e for e in stack.events(mid) if e["type"] == "mission.started"]

    resumed = stack.request("POST", f"/api/tenants/{tid}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active", resumed.text
    for mid in queued:
        assert _wait_row(stack, mid, FINAL) == {"status": "succeeded", "attempts": 1}
    _shape(stack.request("POST", f"/api/tenants/{tid}/resume"), 409, "conflict")


def test_the_cli_manages_tenants_with_the_same_audit_trail(tenant_stack):
    stack = tenant_stack
    tid = _slug("cli")
    made = json.loads(
        stack.brain("tenants", "create", tid, "--name", "Cli Co", "--plan", "free", "--limit", "running_max=3").stdout
    )
    assert (made["id"], made["plan"], made["limits"]["running_max"]) == (tid, "free", 3)
    assert tid in stack.brain("tenants", "list").stdout
    assert stack.request("GET", f"/api/tenants/{tid}").json()["name"] == "Cli Co"
    changed = json.loads(stack.brain("tenants", "update", tid, "--weight", "9", "--limit", "running_max=").stdout)
    assert (changed["weight"], changed["limits"]["running_max"]) == (9, 2)
    assert json.loads(stack.brain("tenants", "suspend", tid, "--reason", "testing").stdout)["status"] == "suspended"
    assert tid in stack.brain("tenants", "list", "--status", "suspended").stdout
    assert json.loads(stack.brain("tenants", "resume", tid).stdout)["status"] == "active"
    assert json.loads(stack.brain("tenants", "delete", tid, "--yes").stdout)["status"] == "deleted"
    refused = stack.brain("tenants", "suspend", tid, "--reason", "again", check=False)
    assert refused.returncode == 2 and "deleted" in refused.stderr and "Traceback" not in refused.stderr
    bad = stack.brain("tenants", "create", "x", "--limit", "gpus=1", check=False)
    assert bad.returncode == 2 and "--limit" in bad.stderr

    events = stack.request("GET", "/api/events", params={"limit": 200}).json()["items"]
    mine = [e for e in events if e["data"].get("tenant") == tid]
    assert [e["type"] for e in reversed(mine)] == [
        "tenant.created",
        "tenant.updated",
        "tenant.suspended",
        "tenant.resumed",
        "tenant.deleted",
    ]
    assert {e["actor"] for e in mine} == {mine[0]["actor"]} and mine[0]["actor"].startswith("cli:")


def test_a_tenants_own_limits_are_enforced_its_budget_and_request_rate(request):
    """Per-tenant limits from the record, enforcing (phase 2, 100%), on every process."""
    stack = make_stack(
        "standard",
        request,
        "tenant_limits",
        BRAIN_MULTI_TENANCY="true",
        NEURORAIL_PHASE="2",
        NEURORAIL_ENFORCEMENT_PERCENTAGE="100",
    )
    try:
        stack.start_api()
        stack.start_worker(concurrency=1)
        tid = _slug("lim")
        made = stack.request(
            "POST",
            "/api/tenants",
            json={
                "id": tid,
                "name": "Limited",
                "plan": "free",
                "limits": {"tokens_per_day": 30, "api_requests_per_s": 3},
            },
        )
        assert made.status_code == 201, made.text
        user = stack.token(sub="u", tenant=tid, roles=("operator",))
        neighbour = stack.token(sub="n", tenant=_slug("free"), roles=("operator",))

        codes = [stack.request("GET", "/api/missions", token=user).status_code for _ in range(20)]
        assert 429 in codes and codes.count(200) >= 3, codes
        refused = next(
            r for r in (stack.request("GET", "/api/missions", token=user) for _ in range(10)) if r.status_code == 429
        )
        assert "api_requests_per_s" in refused.json()["message"] and refused.headers["Retry-After"]
        assert stack.request("GET", "/api/missions", token=neighbour).status_code == 200  # its own counter

        def spend() -> str:
            body = {"name": "s", "agent": "test.spend", "payload": {"tokens": 10}, "budget": {"max_tokens": 10}}
            resp = _paced(stack, "POST", "/api/missions", user, json=body)
            assert resp.status_code == 202, resp.text
            return resp.json()["id"]

        statuses = [_wait_row(stack, spend(), FINAL)["status"] for _ in range(4)]
        assert statuses == ["succeeded", "succeeded", "succeeded", "over_budget"]  # 30 tokens a day
        budget = _paced(stack, "GET", "/api/budgets", user).json()["items"]
        day = next(b for b in budget if b["period"] == "day")
        assert (day["scope"], day["limit"]["tokens"], day["spent"]["tokens"]) == (f"tenant:{tid}", 30, 30)
        month = next(b for b in budget if b["period"] == "month")
        assert month["limit"]["tokens"] == 1_000_000  # the free plan's, no override

        # submissions_per_hour: a batch counts each of its missions; other calls count nothing.
        sid = _slug("subs")
        made = stack.request(
            "POST", "/api/tenants", json={"id": sid, "name": "S", "plan": "free", "limits": {"submissions_per_hour": 5}}
        )
        assert made.status_code == 201, made.text
        submitter = stack.token(sub="s", tenant=sid, roles=("operator",))
        three = {"missions": [{"name": f"b{i}", "agent": "echo"} for i in range(3)]}
        first = stack.request("POST", "/api/missions/batch", token=submitter, json=three)
        assert first.status_code == 200 and first.json()["accepted"] == 3, first.text
        again = stack.request("POST", "/api/missions/batch", token=submitter, json=three)
        assert again.status_code == 429, again.text  # 3 more would make 6 in the hour
        assert "submissions_per_hour" in again.json()["message"] and int(again.headers["Retry-After"]) >= 1
        one = {"name": "one", "agent": "echo"}
        assert stack.request("POST", "/api/missions", token=submitter, json=one).status_code == 202
        assert stack.request("POST", "/api/missions", token=submitter, json=one).status_code == 202
        assert _paced(stack, "POST", "/api/missions", submitter, json=one).status_code == 429
        assert _paced(stack, "GET", "/api/missions", submitter).status_code == 200
        listed = _paced(stack, "GET", "/api/missions?limit=50", submitter).json()["items"]
        assert len(listed) == 5  # what was refused stored nothing
    finally:
        stack.stop()
