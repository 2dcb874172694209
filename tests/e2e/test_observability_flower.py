"""Flower beside a live worker: basic auth, the worker listed, a finished mission's task visible."""

from __future__ import annotations

import sys

import pytest
import requests

from tests.servers import free_port, wait_for

pytestmark = pytest.mark.e2e


BRAIN_FLOWER = [sys.executable, "-m", "brain.cli", "flower"]
# Plain Celery: Flower reads flowerconfig.py from its working directory (the repo).
CELERY_FLOWER = [sys.executable, "-m", "celery", "-A", "brain", "flower"]


def start_flower(stack, command: list[str], port_option: bool = False):
    port = free_port()
    env = {**stack.env, "BRAIN_FLOWER_USER": "ops", "BRAIN_FLOWER_PASSWORD": "s3cret-flower"}
    if port_option:  # `brain flower --host H --port P`, as the CLI reference shows
        command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    else:
        env["BRAIN_FLOWER_PORT"] = str(port)
    proc = stack.spawn("flower", command, env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive():
            return True
        try:
            return requests.get(f"{url}/healthcheck", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    wait_for(up, 60, what="Flower")
    assert proc.alive(), proc.tail()
    assert f"Visit me at http://127.0.0.1:{port}" in proc.tail(200)  # loopback by default
    return proc, url


@pytest.fixture
def flower(stack):
    proc, url = start_flower(stack, BRAIN_FLOWER, port_option=True)
    yield url
    proc.stop()


def test_flower_lists_the_worker_and_a_finished_missions_task(stack, flower):
    auth = ("ops", "s3cret-flower")
    assert requests.get(f"{flower}/api/workers", timeout=10).status_code == 401
    assert requests.get(f"{flower}/api/workers", auth=("ops", "wrong"), timeout=10).status_code == 401

    def workers() -> dict:
        resp = requests.get(f"{flower}/api/workers", params={"refresh": "1"}, auth=auth, timeout=20)
        assert resp.status_code == 200, resp.text
        return resp.json()

    listed = wait_for(workers, 30, 0.5, what="Flower to list the worker")
    assert any(name.startswith("w") for name in listed)

    mission = stack.submit("echo", {"via": "flower"})
    stack.wait_status(mission["id"])

    def task() -> dict | None:
        resp = requests.get(f"{flower}/api/task/info/{mission['id']}", auth=auth, timeout=10)
        return resp.json() if resp.status_code == 200 and resp.json().get("state") == "SUCCESS" else None

    info = wait_for(task, 30, 0.3, what="Flower to see the mission's task succeed")
    assert info["name"] == "brain.run_mission"
    assert info["args"].strip("[]()'\" ,") == mission["id"]
    tasks = requests.get(f"{flower}/api/tasks", params={"taskname": "brain.run_mission"}, auth=auth, timeout=10)
    assert mission["id"] in tasks.json()


def test_plain_celery_flower_gets_brains_auth_and_address(stack):
    if stack.profile != "minimal":
        pytest.skip("the configuration path is the same on every profile")
    proc, url = start_flower(stack, CELERY_FLOWER)
    try:
        assert requests.get(f"{url}/api/workers", timeout=10).status_code == 401
        assert requests.get(f"{url}/api/workers", auth=("ops", "s3cret-flower"), timeout=20).status_code == 200
    finally:
        proc.stop()
