"""The operator's command on the standard profile: `celery -A brain worker -c 10`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from tests.servers import wait_for
from tests.stack import REPO

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("bare_stack", ["standard"], indirect=True)
def test_celery_worker_c10_runs_ten_missions_at_once(bare_stack, redis_server):
    # Exactly the operator's command line, from the repo root.
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "brain", "worker", "-c", "10"],
        cwd=REPO,
        env={**bare_stack.env, "BRAIN_WORKER_METRICS_PORT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: bare_stack.request("GET", "/api/missions/info").json()["workers_online"] >= 1,
            60,
            what="the worker to announce itself",
        )
        client = redis.Redis.from_url(bare_stack.env["BRAIN_REDIS_URL"])
        beat = json.loads(client.get(next(iter(client.scan_iter("brain:worker:*")))))
        assert beat["concurrency"] == 10
        ids = [bare_stack.submit("sleep", {"seconds": 6})["id"] for _ in range(10)]

        def running() -> int:
            return sum(bare_stack.mission(mid)["status"] == "running" for mid in ids)

        wait_for(lambda: running() == 10, 30, 0.2, what="all ten missions running at once")
        for mid in ids:
            assert bare_stack.wait_status(mid, timeout=60)["status"] == "succeeded"
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@pytest.mark.parametrize("bare_stack", ["standard"], indirect=True)
def test_worker_concurrency_defaults_to_profile(bare_stack, redis_server):
    proc = bare_stack.spawn(
        "default-c",
        [sys.executable, "-m", "celery", "-A", "brain", "worker"],
        {**bare_stack.env, "BRAIN_WORKER_METRICS_PORT": "0"},
    )
    client = redis.Redis.from_url(bare_stack.env["BRAIN_REDIS_URL"])
    key = wait_for(lambda: next(iter(client.scan_iter("brain:worker:*")), None), 60, what="heartbeat")
    assert json.loads(client.get(key))["concurrency"] == 5
    proc.stop()
