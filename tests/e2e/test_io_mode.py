"""The I/O-bound mode end to end: a gevent worker node (-Q missions.io -P gevent) with every rail enforced."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.servers import wait_for
from tests.stack import Stack, make_stack

pytestmark = pytest.mark.e2e

IO_QUEUE = "missions.io"
ENFORCING = {
    "NEURORAIL_PHASE": "2",
    "NEURORAIL_ENFORCEMENT_PERCENTAGE": "100",
    "NEURORAIL_REFLEX_FAILURES": "3",
    "NEURORAIL_REFLEX_COOLDOWN_S": "3",
    "NEURORAIL_ROLLBACK_MIN_MISSIONS": "100000",
    "BRAIN_GOVERNANCE": "false",
    "BRAIN_TIME_LIMIT_GRACE_S": "1",
    "BRAIN_LEASE_TTL_S": "4",
    "BRAIN_SWEEP_LEADER_TTL_S": "3",
    "BRAIN_REDISPATCH_AFTER_S": "10",
    # A thousand greenlets share one node's database pool.
    "BRAIN_DB_POOL_SIZE": "20",
    "BRAIN_DB_MAX_OVERFLOW": "20",
}


def _green_worker(stack: Stack, concurrency: int = 500):
    return stack.start_worker(concurrency=concurrency, pool="gevent", queues=IO_QUEUE)


@pytest.fixture(scope="module")
def io_stack(request):
    stack = make_stack("standard", request, "io_mode", **ENFORCING)
    stack.start_api()
    stack.node = _green_worker(stack)
    yield stack
    stack.stop()


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections (into its backlog) and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1000)
    yield server.getsockname()[1]
    server.close()


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _max_overlap(missions: list[dict]) -> int:
    """Most missions running at one instant, from their recorded start and finish times."""
    edges = sorted(
        [(_when(m["started_at"]), 1) for m in missions] + [(_when(m["finished_at"]), -1) for m in missions],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def _outcomes(missions) -> collections.Counter:
    """Final statuses, with the error code and message of each mission that did not succeed."""
    return collections.Counter(
        m["status"] if m["status"] == "succeeded" else (m["status"], str(m.get("error"))[:200]) for m in missions
    )


def _all_final(stack: Stack, ids: list[str], timeout: float = 120) -> dict[str, dict]:
    done: dict[str, dict] = {}

    def finished() -> bool:
        for mission_id in ids:
            if mission_id not in done:
                mission = stack.mission(mission_id)
                if mission["status"] in {"succeeded", "failed", "timed_out", "cancelled", "over_budget"}:
                    done[mission_id] = mission
        return len(done) == len(ids)

    wait_for(finished, timeout, 0.5, what=f"{len(ids)} missions to finish")
    return done


def _events(stack: Stack, event_type: str) -> list[dict]:
    items: list[dict] = []
    params: dict = {"type": event_type, "limit": 500}
    while True:
        page = stack.request("GET", "/api/events", params=params).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        params["cursor"] = page["next_cursor"]


def test_one_node_holds_hundreds_of_missions_in_flight(io_stack):
    # One batch, so how many overlap depends on the node, not on how fast the test submits.
    missions = [{"name": f"sleep {n}", "agent": "sleep", "payload": {"seconds": 3}} for n in range(300)]
    resp = io_stack.request("POST", "/api/missions/batch", json={"missions": missions})
    assert resp.status_code == 200 and resp.json()["accepted"] == 300, resp.text
    ids = [item["mission"]["id"] for item in resp.json()["items"]]
    done = _all_final(io_stack, ids)
    assert _outcomes(done.values()) == {"succeeded": 300}
    # Prefork -c 2 would have run two at a time; the green node ran (nearly) all of them together.
    assert _max_overlap(list(done.values())) >= 200


def test_the_soft_limit_stops_a_cooperating_agent(io_stack):
    done = io_stack.wait_status(io_stack.submit("sleep", {"seconds": 30}, timeout_s=1)["id"], timeout=30)
    assert done["status"] == "timed_out" and done["error"]["code"] == "NR-E001"
    assert "hard" not in done["error"]["message"]


def test_the_hard_limit_stops_an_agent_blocked_on_a_socket_that_ignores_the_soft_one(io_stack, silent_port):
    mission = io_stack.submit("test.hang", {"port": silent_port}, timeout_s=1)
    done = io_stack.wait_status(mission["id"], timeout=30)
    assert done["status"] == "timed_out" and done["error"]["code"] == "NR-E001"
    assert "hard time limit" in done["error"]["message"]
    assert io_stack.node.alive()
    # The node keeps serving, and the greenlet's lease is gone.
    assert io_stack.wait_status(io_stack.submit("sleep", {"seconds": 0})["id"], timeout=30)["status"] == "succeeded"
    assert io_stack.request("GET", "/api/system/health").status_code == 200


def test_cancel_stops_a_running_and_a_queued_mission(request, silent_port):
    stack = make_stack("standard", request, "io_mode_cancel", **ENFORCING)
    try:
        stack.start_api()
        node = _green_worker(stack, concurrency=1)  # one slot: the second mission must wait
        running = stack.submit("test.hang", {"port": silent_port}, timeout_s=60)
        stack.wait_status(running["id"], "running", timeout=30)
        queued = stack.submit("sleep", {"seconds": 0})
        time.sleep(1)
        assert stack.mission(queued["id"])["status"] == "queued"
        for mission in (queued, running):
            resp = stack.request("POST", f"/api/missions/{mission['id']}/cancel")
            assert resp.status_code == 200, resp.text
        assert stack.wait_status(running["id"], timeout=30)["status"] == "cancelled"
        assert stack.mission(queued["id"])["status"] == "cancelled"
        assert stack.mission(queued["id"])["started_at"] is None  # it never ran
        # The slot is free again: the node goes on serving.
        assert stack.wait_status(stack.submit("sleep", {"seconds": 0})["id"], timeout=30)["status"] == "succeeded"
        assert node.alive()
    finally:
        stack.stop()


def test_budgets_and_the_breaker_hold_in_the_green_mode(io_stack):
    over = io_stack.submit("test.io_spend", {"steps": 10, "tokens": 10, "pause": 0.05}, budget={"max_tokens": 55})
    done = io_stack.wait_status(over["id"], timeout=30)
    assert done["status"] == "over_budget" and done["usage"]["tokens"] <= 55
    for _ in range(3):
        assert io_stack.wait_status(io_stack.submit("test.io_fail")["id"], timeout=30)["status"] == "failed"
    breaker = next(
        b for b in io_stack.request("GET", "/api/neurorail/reflexes").json()["items"] if b["name"] == "test.io_fail"
    )
    assert breaker["state"] == "open"


def test_a_sigkilled_green_node_with_missions_in_flight_loses_none(request, tmp_path):
    stack = make_stack("standard", request, "io_mode_kill", **ENFORCING)
    try:
        stack.start_api()
        first = _green_worker(stack)
        runs: Path = tmp_path / "runs.txt"
        ids = [stack.submit("test.io_count", {"file": str(runs), "seconds": 6})["id"] for _ in range(200)]
        wait_for(lambda: runs.exists() and len(runs.read_text().splitlines()) >= 150, 60, what="missions to start")
        os.killpg(first.popen.pid, signal.SIGKILL)
        time.sleep(0.5)
        _green_worker(stack)
        done = _all_final(stack, ids, timeout=180)
        assert _outcomes(done.values()) == {"succeeded": 200}
        finished = collections.Counter(e["mission_id"] for e in _events(stack, "mission.succeeded"))
        assert all(finished[mission_id] == 1 for mission_id in ids), "a mission finished more than once"
    finally:
        stack.stop()
