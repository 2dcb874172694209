"""The fault suite: a Redis restart and a PostgreSQL outage under load, a SIGKILLed worker without beat, an API SIGTERM.

Each test has its own PostgreSQL and Redis servers (it stops them) and no beat process:
recovery must come from the worker nodes alone, as operators run them.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.load import Load, assert_only_202_or_503, assert_ran_once, starts, statuses
from tests.servers import start_postgres, start_redis, wait_for
from tests.stack import Proc, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.standard]


@pytest.fixture
def fault_stack(request):
    """A standard-profile stack on private servers; the test starts the processes it needs."""
    pg, rs = start_postgres(), start_redis(persistent=True)
    stack = Stack.create(
        "standard", database_url=pg.url, redis_url=rs.url, BRAIN_SWEEP_LEADER_TTL_S="3", BRAIN_REDISPATCH_AFTER_S="10"
    )
    try:
        yield stack, pg, rs
    finally:
        stack.stop()
        rs.stop()
        pg.stop()


def _outage_under_load(stack: Stack, runs: Path, seconds: float, stop, start) -> Load:
    """test.count missions at 10/s; 4 s in, the dependency goes away for 10 s; then 6 s more."""
    body = lambda: {"name": "o", "agent": "test.count", "payload": {"file": str(runs), "seconds": seconds}}  # noqa: E731
    with Load(stack, body, rate=10) as load:
        time.sleep(4)
        stop()
        time.sleep(10)
        start()
        time.sleep(6)
    assert_only_202_or_503(load)
    return load


def test_worker_survives_a_redis_restart_and_every_accepted_mission_runs_once(fault_stack, tmp_path):
    stack, _, redis_server = fault_stack
    stack.start_api()
    worker = stack.start_worker(concurrency=2)
    runs = tmp_path / "runs.txt"
    load = _outage_under_load(stack, runs, 0.1, redis_server.stop, redis_server.start)
    accepted = load.accepted()
    assert len(accepted) > 100
    assert_ran_once(stack, accepted, runs)
    assert worker.alive(), worker.tail()
    assert "Unrecoverable error" not in worker.tail(100000)
    # And it still consumes: a mission submitted now runs at once.
    assert stack.wait_status(stack.submit("echo")["id"], timeout=30)["status"] == "succeeded"


def test_database_outage_is_503_loses_nothing_and_reruns_no_finished_agent(fault_stack, tmp_path):
    stack, pg, _ = fault_stack
    stack.start_api()
    worker = stack.start_worker(concurrency=4)
    runs = tmp_path / "runs.txt"
    # Half a second each: some are always running when the database goes, and finish during the outage.
    load = _outage_under_load(stack, runs, 0.5, pg.pause, pg.resume)
    assert any(status == 503 for status, _, _ in load.answers), "the outage was not noticed"
    accepted = load.accepted()
    assert len(accepted) > 50
    assert_ran_once(stack, accepted, runs)
    assert worker.alive(), worker.tail()
    ready = stack.request("GET", "/health/ready")
    assert ready.status_code == 200, ready.text


def _worker_killed_mid_run(stack: Stack, agent: str, runs: Path) -> tuple[dict, Proc]:
    """Run `agent` on one node, SIGKILL that whole node mid-run with a second node up; the mission's end."""
    stack.start_api()
    first = stack.start_worker(concurrency=1)
    mission = stack.submit(agent, {"file": str(runs), "seconds": 4})
    stack.wait_status(mission["id"], "running", timeout=30)
    second = stack.start_worker(concurrency=1)
    os.killpg(first.popen.pid, signal.SIGKILL)  # main process and children, no warning, no beat anywhere
    return stack.wait_status(mission["id"], timeout=90), second


def test_a_sigkilled_worker_is_recovered_by_the_other_node_without_beat(fault_stack, tmp_path):
    stack, _, _ = fault_stack
    runs = tmp_path / "runs.txt"
    done, second = _worker_killed_mid_run(stack, "test.count", runs)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert starts(runs)[done["id"]] == 2  # killed once, then run to completion once
    assert second.alive()
    health = stack.request("GET", "/api/system/health").json()
    assert health["sweeper"]["leader"] and health["sweeper"]["last_sweep_age_s"] is not None


def test_a_non_idempotent_agent_is_not_run_again_after_its_worker_is_lost(fault_stack, tmp_path):
    stack, _, _ = fault_stack
    runs = tmp_path / "runs.txt"
    done, _ = _worker_killed_mid_run(stack, "test.once", runs)
    assert done["status"] == "failed" and done["error"]["code"] == "NR-E005"
    assert "not idempotent" in done["error"]["message"]
    assert starts(runs)[done["id"]] == 1  # at most once


def test_the_sweep_leader_is_taken_over_when_its_node_dies(fault_stack):
    stack, _, redis_server = fault_stack
    first = stack.start_worker(concurrency=1)
    client = redis_server.client()
    leader = wait_for(lambda: client.get("brain:sweep:leader"), 15, what="a sweep leader")
    second = stack.start_worker(concurrency=1)
    time.sleep(2)
    assert client.get("brain:sweep:leader") == leader  # one leader at a time: the second stands by
    os.killpg(first.popen.pid, signal.SIGKILL)
    taken = wait_for(
        lambda: (v := client.get("brain:sweep:leader")) and v != leader and v,
        15,
        what="the other node to take the lease over",
    )
    assert taken and second.alive()


def test_api_sigterm_completes_requests_in_flight(fault_stack):
    stack, _, _ = fault_stack
    proc, url = stack.start_api(BRAIN_EVENTS_STREAM_MAX_S="4")
    stack.start_worker(concurrency=2)
    stream: dict = {}

    def tail() -> None:
        with requests.get(
            f"{url}/api/events/stream",
            stream=True,
            timeout=30,
            headers={"Authorization": f"Bearer {stack.env['BRAIN_API_TOKEN']}"},
        ) as resp:
            stream["status"] = resp.status_code
            stream["body"] = b"".join(resp.iter_content(None))  # raises if the server cuts it off

    reader = threading.Thread(target=tail)
    reader.start()
    body = lambda: {"name": "t", "agent": "echo", "payload": {}}  # noqa: E731
    with Load(stack, body, rate=20, url=url) as load:
        time.sleep(1.5)
        os.kill(proc.popen.pid, signal.SIGTERM)  # gunicorn master: graceful shutdown
        proc.popen.wait(30)
    reader.join(30)
    assert stream.get("status") == 200 and "body" in stream  # the 4-s stream ran to its end
    assert {status for status, _, _ in load.answers} == {202}, collections.Counter(s for s, _, _ in load.answers)
    # Once the listener is closed a new connection is refused (or reset while still in the kernel's
    # accept queue): never a request cut off after it was taken, which would leave a mission its client
    # was not told about.
    assert all(e.startswith("ConnectionError") for e in load.errors), load.errors[:3]
    assert len(statuses(stack, load.accepted())) == len(load.accepted())
    engine = create_engine(stack.env["BRAIN_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM missions WHERE name = 't'")).scalar()
    engine.dispose()
    assert stored == len(load.accepted())
    _, stack.api_url = stack.start_api()
    for mission_id in load.accepted():
        assert stack.wait_status(mission_id)["status"] == "succeeded"
