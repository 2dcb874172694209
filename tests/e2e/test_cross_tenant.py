"""Tenant A against every route with tenant B's ids, cursors and event ids: nothing of B comes back.

ROUTES names every operation of the OpenAPI document with how it treats tenants; a new
route without a row fails the suite, so every route gets a tenant test.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

# How each operation treats tenants:
#   own      - reads or changes only the caller's tenant's rows; B's ids are 404 for A
#   platform - spans tenants: a customer tenant's caller (even an admin) is 403 forbidden
#   filtered - global state, shown to a customer tenant without anything of other tenants
#   public   - no tenant data at all
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/missions"): "own",
    ("POST", "/api/missions"): "own",
    ("POST", "/api/missions/batch"): "own",
    ("POST", "/api/missions/enqueue"): "own",
    ("GET", "/api/missions/info"): "filtered",
    ("GET", "/api/missions/{mission_id}"): "own",
    ("POST", "/api/missions/{mission_id}/cancel"): "own",
    ("GET", "/api/missions/{mission_id}/events"): "own",
    ("GET", "/api/events"): "own",
    ("GET", "/api/events/stream"): "own",
    ("GET", "/api/approvals"): "own",
    ("GET", "/api/approvals/{approval_id}"): "own",
    ("POST", "/api/approvals/{approval_id}/approve"): "own",
    ("POST", "/api/approvals/{approval_id}/reject"): "own",
    ("GET", "/api/budgets"): "filtered",
    ("GET", "/api/neurorail/reflexes"): "filtered",
    ("POST", "/api/neurorail/reflexes/{name}/reset"): "platform",
    ("GET", "/api/neurorail/rollout"): "public",
    ("GET", "/api/policies"): "platform",
    ("POST", "/api/policies/reload"): "platform",
    ("GET", "/api/system/health"): "platform",
    ("GET", "/api/tenants"): "platform",
    ("POST", "/api/tenants"): "platform",
    ("GET", "/api/tenants/{tenant_id}"): "platform",
    ("PATCH", "/api/tenants/{tenant_id}"): "platform",
    ("DELETE", "/api/tenants/{tenant_id}"): "platform",
    ("POST", "/api/tenants/{tenant_id}/suspend"): "platform",
    ("POST", "/api/tenants/{tenant_id}/resume"): "platform",
    ("GET", "/api/pipelines"): "own",
    ("GET", "/api/pipelines/{pipeline_name}"): "own",
    ("GET", "/api/pipelines/{pipeline_name}/versions"): "own",
    ("GET", "/api/pipelines/{pipeline_name}/versions/{version}"): "own",
    ("POST", "/api/pipelines/{pipeline_name}/rollback"): "own",
    ("POST", "/api/pipelines/{pipeline_name}/runs"): "own",  # before A's PUT below: B's pipeline is no name to A
    ("GET", "/api/pipeline-runs"): "own",
    ("GET", "/api/pipeline-runs/{run_id}"): "own",
    ("POST", "/api/pipeline-runs/{run_id}/cancel"): "own",
    ("POST", "/api/pipeline-runs/{run_id}/retry"): "own",
    # Names are per tenant: A applying under B's name makes A's own pipeline (B's is untouched, below).
    ("PUT", "/api/pipelines/{pipeline_name}"): "own",
    ("GET", "/health/live"): "public",
    ("GET", "/health/ready"): "public",
}


def _operations(stack) -> set[tuple[str, str]]:
    spec = stack.request("GET", "/api/openapi.json").json()
    return {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_route_has_a_tenant_row(stack):
    operations = _operations(stack)
    assert operations - set(ROUTES) == set(), "new routes need a row in ROUTES (and a tenant check below)"
    assert set(ROUTES) - operations == set(), "ROUTES lists routes the API no longer has"


@pytest.fixture
def two_tenants(stack):
    """Tenant B with a finished mission, a held one (approval pending) and events; A with a token of every role."""
    a, b = f"ta{uuid.uuid4().hex[:8]}", f"tb{uuid.uuid4().hex[:8]}"
    b_admin = stack.token(sub="b-admin", tenant=b, roles=("admin",))
    done = stack.request(
        "POST", "/api/missions", token=b_admin, json={"name": "b-secret", "agent": "echo", "payload": {"b": 1}}
    )
    held = stack.request("POST", "/api/missions", token=b_admin, json={"name": "b-held", "agent": "test.restricted"})
    assert done.status_code == 202 and held.status_code == 202, (done.text, held.text)
    if stack.profile == "minimal":  # no governance on minimal: nothing is held, B has no approval
        approval = {"id": str(uuid.uuid4())}
    else:
        assert held.json()["status"] == "awaiting_approval"
        page = stack.request("GET", "/api/approvals", token=b_admin, params={"status": "pending", "limit": 200}).json()
        approval = next(x for x in page["items"] if x["mission_id"] == held.json()["id"])
    b_pipeline = f"bp{uuid.uuid4().hex[:8]}"
    source = f"name: {b_pipeline}\ndescription: b-pipeline-secret\nnodes:\n  - {{id: n, type: mission, agent: echo}}\n"
    applied = stack.request("PUT", f"/api/pipelines/{b_pipeline}", token=b_admin, json={"source": source})
    assert applied.status_code == 201, applied.text
    b_run = stack.request("POST", f"/api/pipelines/{b_pipeline}/runs", token=b_admin, json={})
    assert b_run.status_code == 202, b_run.text
    b_events = stack.request("GET", f"/api/missions/{done.json()['id']}/events", token=b_admin).json()["items"]
    b_list = stack.request("GET", "/api/missions", token=b_admin, params={"limit": 1}).json()
    return {
        "a": a,
        "b": b,
        "a_admin": stack.token(sub="a-admin", tenant=a, roles=("admin",)),
        "b_admin": b_admin,
        "b_mission": done.json()["id"],
        "b_held": held.json()["id"],
        "b_approval": approval["id"],
        "b_event_id": b_events[-1]["id"],
        "b_cursor": b_list["next_cursor"],
        "b_pipeline": b_pipeline,
        "b_run": b_run.json()["id"],
        "secrets": {
            b_run.json()["id"],
            b,
            done.json()["id"],
            held.json()["id"],
            approval["id"],
            "b-secret",
            "b-held",
            "b-admin",
            "b-pipeline-secret",  # not the name: A may use the same name for a pipeline of its own
        },
    }


def _leaks(resp, secrets: set[str]) -> set[str]:
    """B's values in the answer, beyond what A itself sent (a 404 may name the id it was asked for)."""
    sent = resp.request.url + str(resp.request.body or "") + json.dumps(dict(resp.request.headers))
    seen = resp.text + json.dumps(dict(resp.headers))
    return {s for s in secrets if s in seen and s not in sent}


def test_tenant_a_gets_nothing_of_tenant_b_on_any_route(stack, two_tenants):
    t = two_tenants
    a = t["a_admin"]
    secrets = t["secrets"]
    ids = {
        "mission_id": t["b_mission"],
        "approval_id": t["b_approval"],
        "name": "echo",
        "tenant_id": t["b"],
        "pipeline_name": t["b_pipeline"],
        "version": 1,
        "run_id": t["b_run"],
    }
    checked = set()

    def call(method: str, path: str, **kwargs):
        checked.add((method, path))
        url = path.format(**ids)
        if path == "/api/events/stream":
            return _stream(
                url, headers={"Last-Event-ID": str(t["b_event_id"] - 1)}, params={"mission_id": t["b_mission"]}
            )
        resp = stack.request(method, url, token=a, **kwargs)
        assert not _leaks(resp, secrets), (method, url, resp.status_code, _leaks(resp, secrets))
        assert resp.status_code < 500, (method, url, resp.text)
        return resp

    def _stream(url: str, **kwargs):
        """The SSE stream resumed from just before B's event: read what comes in 3 s of it."""
        resp = stack.request("GET", url, token=a, stream=True, timeout=(5, 3), **kwargs)
        text = b""
        try:
            for chunk in resp.iter_content(chunk_size=None):
                text += chunk
        except requests.exceptions.ConnectionError:
            pass  # the read timeout: the stream is still open, nothing more came
        finally:
            resp.close()
        assert resp.status_code == 200, text
        assert not {s for s in secrets if s in text.decode()}, text
        assert b"data:" not in text, text  # no event at all: B's are not A's
        return resp

    bodies = {
        ("POST", "/api/missions"): {"name": "a", "agent": "echo"},
        ("POST", "/api/missions/enqueue"): {"name": "a", "agent": "echo"},
        ("POST", "/api/missions/batch"): {"missions": [{"name": "a", "agent": "echo"}]},
        ("POST", "/api/approvals/{approval_id}/approve"): {},
        ("POST", "/api/approvals/{approval_id}/reject"): {"reason": "not mine"},
        ("POST", "/api/tenants"): {"id": f"x{uuid.uuid4().hex[:8]}", "name": "x"},
        ("PATCH", "/api/tenants/{tenant_id}"): {"name": "taken over"},
        ("POST", "/api/tenants/{tenant_id}/suspend"): {"reason": "hostile"},
        ("POST", "/api/pipelines/{pipeline_name}/rollback"): {},
        ("POST", "/api/pipelines/{pipeline_name}/runs"): {"inputs": {}},
        ("PUT", "/api/pipelines/{pipeline_name}"): {
            "source": f"name: {t['b_pipeline']}\nnodes:\n  - {{id: mine, type: mission, agent: echo}}\n"
        },
    }
    for (method, path), kind in ROUTES.items():
        kwargs = {"json": bodies[(method, path)]} if (method, path) in bodies else {}
        resp = call(method, path, **kwargs)
        if kind == "platform":
            assert (resp.status_code, resp.json()["error"]) == (403, "forbidden"), (method, path, resp.text)
        elif method == "PUT":
            assert resp.status_code == 201 and resp.json()["version"] == 1, (method, path, resp.text)
        elif kind == "own" and "{" in path:
            assert resp.status_code == 404, (method, path, resp.text)
        else:
            assert resp.status_code in (200, 202), (method, path, resp.text)

    # Lists and streams with B's cursors and event ids hold A's rows only.
    for path, params in (
        ("/api/missions", {"cursor": t["b_cursor"], "limit": 200}),
        ("/api/events", {"mission_id": t["b_mission"], "limit": 200}),
        ("/api/events", {"since": "2000-01-01T00:00:00Z", "limit": 500}),
        ("/api/approvals", {"status": "pending", "limit": 200}),
    ):
        resp = call("GET", path, params=params)
        assert resp.status_code == 200 and {i.get("tenant", t["a"]) for i in resp.json()["items"]} <= {t["a"]}, (
            resp.text
        )
    budgets = call("GET", "/api/budgets").json()["items"]
    assert {line["scope"] for line in budgets} <= {f"tenant:{t['a']}"}
    assert call("GET", "/api/missions/info").json()["queues"] == {}
    assert checked >= set(ROUTES)

    # B's own view is untouched by everything A tried.
    b = t["b_admin"]
    if stack.profile != "minimal":
        assert stack.request("GET", f"/api/missions/{t['b_held']}", token=b).json()["status"] == "awaiting_approval"
        assert stack.request("GET", f"/api/approvals/{t['b_approval']}", token=b).json()["status"] == "pending"
    assert stack.request("GET", f"/api/missions/{t['b_mission']}", token=b).json()["status"] != "cancelled"
    listed = call("GET", "/api/pipelines").json()["items"]  # A's own one of that name, not B's
    assert [(p["name"], p["description"]) for p in listed] == [(t["b_pipeline"], "")]
    assert call("GET", "/api/pipeline-runs").json()["items"] == []
    assert stack.request("GET", f"/api/pipeline-runs/{t['b_run']}", token=b).json()["status"] != "cancelled"
    mine = stack.request("GET", f"/api/pipelines/{t['b_pipeline']}", token=b).json()
    assert (mine["description"], mine["nodes"][0]["id"]) == ("b-pipeline-secret", "n")
    tenant_b = stack.request("GET", f"/api/tenants/{t['b']}").json()  # the platform's admin
    assert (tenant_b["status"], tenant_b["name"]) == ("active", t["b"])


def test_a_platform_admin_reads_another_tenants_missions_and_no_one_else_can(stack, two_tenants):
    b, mission = two_tenants["b"], two_tenants["b_mission"]
    platform = stack.token(sub="ops", roles=("admin",))  # an admin of tenant default
    listed = stack.request("GET", "/api/missions", token=platform, params={"tenant": b, "limit": 200})
    assert listed.status_code == 200, listed.text
    assert {m["tenant"] for m in listed.json()["items"]} == {b}
    assert mission in {m["id"] for m in listed.json()["items"]}
    one = stack.request("GET", f"/api/missions/{mission}", token=platform, params={"tenant": b})
    assert one.status_code == 200 and one.json()["name"] == "b-secret", one.text
    events = stack.request("GET", "/api/events", token=platform, params={"tenant": b, "mission_id": mission})
    assert events.status_code == 200 and {e["mission_id"] for e in events.json()["items"]} == {mission}
    # Without ?tenant= even the platform admin reads its own tenant only.
    assert stack.request("GET", f"/api/missions/{mission}", token=platform).status_code == 404
    for token in (two_tenants["a_admin"], stack.token(sub="vic", roles=("viewer",))):
        resp = stack.request("GET", "/api/missions", token=token, params={"tenant": b})
        assert resp.status_code == 403 and resp.json()["error"] == "forbidden", resp.text
        resp = stack.request("GET", f"/api/missions/{mission}", token=token, params={"tenant": b})
        assert resp.status_code == 403, resp.text
    bad = stack.request("GET", "/api/missions", token=platform, params={"tenant": "no such!"})
    assert bad.status_code == 422 and "tenant" in bad.json()["errors"]["query"]
