"""Nothing is lost: a SIGKILLed worker, a failed publish, Redis going away."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.servers import wait_for

pytestmark = pytest.mark.e2e


def test_sigkilled_worker_loses_nothing_and_mission_completes_once(bare_stack, tmp_path):
    runs = tmp_path / "runs.txt"
    first = bare_stack.start_worker(concurrency=1)
    mission = bare_stack.submit("test.count", {"file": str(runs), "seconds": 3})
    bare_stack.wait_status(mission["id"], "running", timeout=30)
    wait_for(lambda: runs.exists(), 10, what="the agent to start")
    first.stop(signal.SIGKILL)  # the whole node, main process and children, no warning
    bare_stack.start_worker(concurrency=1)
    done = bare_stack.wait_status(mission["id"], timeout=90)
    assert done["status"] == "succeeded"
    assert done["attempts"] == 2
    assert done["result"] == {"attempt": 2}
    starts = runs.read_text().splitlines()
    assert len(starts) == 2  # killed once, then run to completion
    types = [e["type"] for e in bare_stack.events(mission["id"])]
    assert types.count("mission.succeeded") == 1
    assert "mission.retried" in types
    # A late redelivery of the original message must not run it again.
    time.sleep(2)
    assert len(runs.read_text().splitlines()) == 2


def test_killed_pool_child_is_recovered(bare_stack, tmp_path):
    runs = tmp_path / "runs.txt"
    bare_stack.start_worker(concurrency=1)
    mission = bare_stack.submit("test.count", {"file": str(runs), "seconds": 3})
    bare_stack.wait_status(mission["id"], "running", timeout=30)
    wait_for(lambda: runs.exists() and runs.read_text(), 10, what="the agent to start")
    child_pid = int(runs.read_text().split()[2])
    os.kill(child_pid, signal.SIGKILL)  # the prefork child only; the node survives
    done = bare_stack.wait_status(mission["id"], timeout=90)
    assert done["status"] == "succeeded"
    assert done["attempts"] == 2
    assert [e["type"] for e in bare_stack.events(mission["id"])].count("mission.succeeded") == 1


def test_publish_failure_is_delivered_by_the_sweeper(bare_stack):
    bare_stack.start_worker(concurrency=1)
    if bare_stack.profile == "minimal":
        dead_broker = f"redis+socket://{bare_stack.data_dir}/nobody-here.sock"
    else:
        dead_broker = "redis://127.0.0.1:1/0"
    _, broken_api = bare_stack.start_api(BRAIN_BROKER_URL=dead_broker)
    resp = bare_stack.request(
        "POST", "/api/missions", url=broken_api, json={"name": "lost?", "agent": "echo", "payload": {"k": 1}}
    )
    assert resp.status_code == 202
    done = bare_stack.wait_status(resp.json()["id"], timeout=60)
    assert done["status"] == "succeeded"
    assert done["result"] == {"k": 1}


def test_cancel_queued_mission_never_starts(bare_stack, tmp_path):
    runs = tmp_path / "runs.txt"
    mission = bare_stack.submit("test.count", {"file": str(runs)})
    resp = bare_stack.request("POST", f"/api/missions/{mission['id']}/cancel")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    bare_stack.start_worker(concurrency=1)
    marker = bare_stack.submit("echo")
    bare_stack.wait_status(marker["id"])
    assert not runs.exists()
    assert bare_stack.mission(mission["id"])["status"] == "cancelled"


def test_readiness_503_while_redis_is_down_then_200(bare_stack, request):
    ready = bare_stack.request("GET", "/health/ready")
    assert ready.status_code == 200, ready.text
    if bare_stack.profile == "minimal":
        from brain.embedded_redis import ensure_running, stop

        stop(bare_stack.data_dir)
        restart = lambda: ensure_running(bare_stack.data_dir)  # noqa: E731
    else:
        server = request.getfixturevalue("redis_server")
        server.stop()
        restart = server.start
    try:
        down = bare_stack.request("GET", "/health/ready")
        assert down.status_code == 503
        body = down.json()
        assert body["error"] == "not_ready"
        assert "redis" in body["message"] and "broker" in body["message"]
        assert body["errors"]["dependencies"]["database"] == "ok"
    finally:
        restart()
    wait_for(lambda: bare_stack.request("GET", "/health/ready").status_code == 200, 30, what="ready again")


def test_api_and_worker_refuse_an_old_schema(bare_stack):
    bare_stack.brain("db", "downgrade", "base")
    try:
        worker = bare_stack.spawn(
            "old-schema-worker",
            [sys.executable, "-m", "celery", "-A", "brain", "worker", "-c", "1", "--without-mingle"],
        )
        worker.popen.wait(60)
        assert worker.popen.returncode == 2
        assert "brain db upgrade" in worker.tail()
        env = {**bare_stack.env, "BRAIN_API_PORT": "1"}
        api = bare_stack.brain("api", env=env, check=False)
        assert api.returncode == 2
        assert "brain db upgrade" in api.stderr
        assert "Traceback" not in api.stderr
    finally:
        bare_stack.brain("db", "upgrade")
    assert Path(bare_stack.data_dir).exists()
