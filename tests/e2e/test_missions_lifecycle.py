"""A mission's life over HTTP on a real worker: success, failure, time limits, cancel, idempotency."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_enqueue_runs_to_success(stack):
    mission = stack.submit("echo", {"msg": "hi"}, name="hello", tags=["smoke"])
    assert mission["status"] == "queued"
    assert uuid.UUID(mission["id"])
    done = stack.wait_status(mission["id"])
    assert done["status"] == "succeeded"
    assert done["result"] == {"msg": "hi"}
    assert done["attempts"] == 1
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    assert [e["type"] for e in stack.events(mission["id"]) if e["type"].startswith("mission.")] == [
        "mission.created",
        "mission.queued",
        "mission.started",
        "mission.succeeded",
    ]


def test_location_header_and_alias(stack):
    resp = stack.request("POST", "/api/missions/enqueue", json={"name": "alias", "agent": "echo"})
    assert resp.status_code == 202
    assert resp.headers["Location"].endswith(f"/api/missions/{resp.json()['id']}")
    assert stack.wait_status(resp.json()["id"])["status"] == "succeeded"


def test_agent_error_fails_with_nr_e004(stack):
    mission = stack.submit("test.fail", {"message": "kaput"})
    done = stack.wait_status(mission["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "NR-E004"
    assert "kaput" in done["error"]["message"]


def test_soft_timeout_then_next_mission_runs(stack):
    slow = stack.submit("sleep", {"seconds": 30}, timeout_s=1)
    done = stack.wait_status(slow["id"], timeout=30)
    assert done["status"] == "timed_out"
    assert done["error"]["code"] == "NR-E001"
    after = stack.submit("echo", {"n": 1})
    assert stack.wait_status(after["id"])["status"] == "succeeded"


def test_hard_timeout_kills_stubborn_agent_and_worker_keeps_serving(stack):
    stubborn = stack.submit("test.stubborn", {"seconds": 60}, timeout_s=1)
    done = stack.wait_status(stubborn["id"], timeout=40)
    assert done["status"] == "timed_out"
    assert done["error"]["code"] == "NR-E001"
    assert "hard" in done["error"]["message"]
    after = stack.submit("echo", {"n": 2})
    assert stack.wait_status(after["id"])["status"] == "succeeded"


def test_cancel_running_mission_terminates_it(stack):
    mission = stack.submit("sleep", {"seconds": 60})
    stack.wait_status(mission["id"], "running", timeout=30)
    resp = stack.request("POST", f"/api/missions/{mission['id']}/cancel")
    assert resp.status_code == 200
    assert resp.json()["status"] == "cancelled"
    # The worker slot frees up at once: two quick missions on a -c 2 node finish promptly.
    quick = [stack.submit("echo", {"i": i}) for i in range(2)]
    for q in quick:
        assert stack.wait_status(q["id"], timeout=20)["status"] == "succeeded"
    assert stack.mission(mission["id"])["status"] == "cancelled"


def test_cancel_finished_mission_is_409(stack):
    mission = stack.submit("echo")
    stack.wait_status(mission["id"])
    resp = stack.request("POST", f"/api/missions/{mission['id']}/cancel")
    assert resp.status_code == 409
    assert resp.json()["error"] == "conflict"


def test_idempotency_key(stack):
    key = f"key-{uuid.uuid4()}"
    body = {"name": "idem", "agent": "echo", "payload": {"x": 1}}
    first = stack.request("POST", "/api/missions", json=body, headers={"Idempotency-Key": key})
    again = stack.request("POST", "/api/missions", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = stack.request("POST", "/api/missions", json={**body, "payload": {"x": 2}}, headers={"Idempotency-Key": key})
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_conflict"
    listed = stack.request("GET", "/api/missions", params={"limit": 200}).json()["items"]
    assert sum(1 for m in listed if m["name"] == "idem") == 1


def test_list_newest_first_with_cursor_and_filters(stack):
    ids = [stack.submit("echo", {"i": i}, name=f"page-{i}")["id"] for i in range(5)]
    for mid in ids:
        stack.wait_status(mid)
    seen, cursor = [], None
    while True:
        params = {"agent": "echo", "status": "succeeded", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = stack.request("GET", "/api/missions", params=params).json()
        assert len(page["items"]) <= 2
        assert all(m["agent"] == "echo" and m["status"] == "succeeded" for m in page["items"])
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [i for i in seen if i in ids] == list(reversed(ids))
    assert len(seen) == len(set(seen))


def test_info_reports_profile_queues_and_workers(stack):
    info = stack.request("GET", "/api/missions/info").json()
    assert info["name"] == "BRAiN"
    assert info["profile"] == stack.profile
    assert info["workers_online"] >= 1
    assert set(info["queues"]) == {"missions", "missions.io", "brain.control"}
    assert "echo" in info["agents"]


def test_priorities_serve_critical_first(stack):
    # Fill both slots, queue LOW then CRITICAL; CRITICAL must start first. The slots free one at
    # a time (2 s, then 4 s): two freed together would let two pool processes race to start.
    blockers = [stack.submit("sleep", {"seconds": seconds}) for seconds in (2, 4)]
    for b in blockers:
        stack.wait_status(b["id"], "running", timeout=30)
    low = stack.submit("echo", {"p": "low"}, priority="LOW")
    critical = stack.submit("echo", {"p": "critical"}, priority="CRITICAL")
    low_done, crit_done = stack.wait_status(low["id"]), stack.wait_status(critical["id"])
    assert crit_done["started_at"] <= low_done["started_at"]
