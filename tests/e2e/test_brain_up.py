"""`brain up` on the minimal profile: the README's quickstart, then Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from tests.processes import scratch_dir
from tests.servers import free_port, wait_for
from tests.stack import REPO

pytestmark = pytest.mark.e2e


def test_brain_up_serves_the_curl_example_and_stops_cleanly():
    data_dir = scratch_dir("up-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAIN_", "PROMETHEUS_"))}
    env.update({"BRAIN_DATA_DIR": data_dir, "BRAIN_WORKER_METRICS_PORT": str(free_port())})
    log = open(os.path.join(data_dir, "up.log"), "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "brain.cli", "up", "--port", str(port), "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), 90, what="brain up")
        resp = requests.post(
            f"{base}/api/missions", json={"name": "hello", "agent": "echo", "payload": {"msg": "hi"}}, timeout=10
        )
        assert resp.status_code == 202
        mission_id = resp.json()["id"]
        done = wait_for(lambda: _finished(base, mission_id), 60, what="the hello mission")
        assert done["status"] == "succeeded" and done["result"] == {"msg": "hi"}
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # gunicorn master + workers, celery node + pool
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0, open(os.path.join(data_dir, "up.log")).read()[-3000:]
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not os.path.exists(os.path.join(data_dir, "redis.sock")) or not _socket_alive(data_dir)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/health/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _finished(base: str, mission_id: str):
    m = requests.get(f"{base}/api/missions/{mission_id}", timeout=5).json()
    return m if m["status"] in {"succeeded", "failed", "timed_out", "cancelled"} else None


def _socket_alive(data_dir: str) -> bool:
    import redis

    try:
        return redis.Redis(unix_socket_path=os.path.join(data_dir, "redis.sock")).ping()
    except redis.RedisError:
        return False
