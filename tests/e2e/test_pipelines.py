"""Pipelines on real processes: the shipped templates through the CLI, cancel, retry, kills mid-run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.processes import REPO
from tests.servers import wait_for

pytestmark = pytest.mark.e2e

TEMPLATES = REPO / "pipelines"


def _cli_env(stack, tenant: str, sub: str = "dev") -> dict[str, str]:
    token = stack.token(sub, tenant=tenant, roles=("operator",))
    return {**stack.env, "BRAIN_API_URL": stack.api_url, "BRAIN_API_TOKEN": token}


def _run_json(out: str) -> dict:
    return json.loads(out)


def test_the_etl_and_ml_templates_run_with_the_cli(stack):
    env = _cli_env(stack, f"pipes-{uuid.uuid4().hex[:6]}")
    for name in ("etl", "ml-training"):
        stack.brain("pipelines", "apply", "-f", str(TEMPLATES / f"{name}.yaml"), env=env)
    etl = _run_json(stack.brain("pipelines", "run", "etl", "--input", "partitions=3", "--wait", env=env).stdout)
    assert etl["status"] == "succeeded", etl
    assert etl["outputs"] == {"rows_loaded": 3000, "partitions": ["part-0", "part-1", "part-2"]}
    items = [n for n in etl["nodes"] if n["node"] == "transform" and n["item_index"] is not None]
    assert [n["mission_status"] for n in items] == ["succeeded"] * 3
    assert all(n["ready_at"] <= n["started_at"] <= n["finished_at"] for n in items)

    low = stack.brain("pipelines", "run", "ml-training", "-i", "accuracy=0.8", "--wait", env=env, check=False)
    assert low.returncode == 0, (low.stdout, low.stderr)
    deployed = {n["node"]: n["status"] for n in _run_json(low.stdout)["nodes"]}
    assert deployed["deploy"] == "skipped" and _run_json(low.stdout)["outputs"]["deployed"] is False
    high = _run_json(stack.brain("pipelines", "run", "ml-training", "-i", "accuracy=0.9", "--wait", env=env).stdout)
    assert high["outputs"] == {"accuracy": 0.9, "deployed": True}
    listed = stack.brain("pipelines", "runs", "ml-training", env=env).stdout
    assert high["id"] in listed and "succeeded" in listed


def test_the_deployment_template_waits_for_a_human_and_rolls_back_a_failed_verify(stack):
    tenant = f"deploy-{uuid.uuid4().hex[:6]}"
    env = _cli_env(stack, tenant)
    stack.brain("pipelines", "apply", "-f", str(TEMPLATES / "deployment.yaml"), env=env)
    command = [sys.executable, "-m", "brain.cli", "pipelines", "run", "deployment", "-i", "healthy=false", "--wait"]
    waiting = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if stack.profile != "minimal":  # governance is off on minimal: nothing is held there
            _approve_the_pending_one(stack, tenant)
        out, err = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    if stack.profile != "minimal":
        assert "awaits approval" in err
    assert waiting.returncode == 0, err  # the run succeeded: a failed verify is handled by rolling back
    run = json.loads(out)
    nodes = {n["node"]: n for n in run["nodes"]}
    assert nodes["verify"]["status"] == "failed" and nodes["rollback"]["status"] == "succeeded"
    assert run["outputs"] == {"artifact": "api:1.0.0", "verified": False, "rolled_back": True}


def _approve_the_pending_one(stack, tenant: str) -> None:
    approver = stack.token("ops", tenant=tenant, roles=("admin",))
    pending: list = []

    def held() -> bool:
        pending[:] = stack.request("GET", "/api/approvals?status=pending", token=approver).json()["items"]
        return bool(pending)

    wait_for(held, 60, 0.2, what="the approve node to wait for a human")
    time.sleep(1)  # the CLI polls every 0.5 s: let it see the held node before it moves on
    resp = stack.request("POST", f"/api/approvals/{pending[0]['id']}/approve", token=approver, json={"reason": "go"})
    assert resp.status_code == 200, resp.text


SLOW = """
name: slow
inputs:
  file: {type: string}
  items: {type: integer, default: 4}
  seconds: {type: number, default: 1}
nodes:
  - id: plan
    type: transform
    transform: range
    args: {count: "${inputs.items}"}
  - id: work
    type: mission
    agent: test.count
    foreach: nodes.plan.result
    max_parallel: 2
    payload: {file: "${inputs.file}", seconds: "${inputs.seconds}", item: "${item}"}
    dependencies: [plan]
  - id: total
    type: transform
    transform: count
    args: {values: "${nodes.work.result}"}
    dependencies: [work]
outputs:
  done: "${nodes.total.result}"
"""


def _apply_slow(stack, tmp_path: Path) -> Path:
    resp = stack.request("PUT", "/api/pipelines/slow", json={"source": SLOW})
    assert resp.status_code in (200, 201), resp.text
    return tmp_path / "starts.txt"


def _start(stack, name: str, inputs: dict) -> dict:
    resp = stack.request("POST", f"/api/pipelines/{name}/runs", json={"inputs": inputs})
    assert resp.status_code == 202, resp.text
    return resp.json()


def _wait_run(stack, run_id: str, statuses: set[str], timeout: float = 120) -> dict:
    last: dict = {}

    def reached() -> bool:
        nonlocal last
        last = stack.request("GET", f"/api/pipeline-runs/{run_id}").json()
        return last["status"] in statuses

    try:
        wait_for(reached, timeout, 0.2, what=f"run {run_id} to reach {statuses}")
    except TimeoutError:
        logs = "\n".join(f"--- {p.name}\n{p.tail(30)}" for p in stack.procs)
        raise AssertionError(f"run stuck: {json.dumps(last, indent=1)}\n{logs}") from None
    return last


def test_killing_the_worker_and_the_sweeper_mid_run_loses_nothing_and_runs_no_node_twice(bare_stack, tmp_path):
    starts = _apply_slow(bare_stack, tmp_path)
    worker = bare_stack.start_worker(concurrency=2)
    run = _start(bare_stack, "slow", {"file": str(starts), "items": 6, "seconds": 1.5})
    wait_for(lambda: starts.exists() and len(starts.read_text().splitlines()) >= 2, 30, what="two items to start")
    worker.stop(signal.SIGKILL)  # the scheduler runs in the worker: it dies mid-transaction or between them
    beat = next(p for p in bare_stack.procs if p.name == "beat")
    beat.stop(signal.SIGKILL)
    bare_stack.start_beat()
    bare_stack.start_worker(concurrency=2)
    done = _wait_run(bare_stack, run["id"], {"succeeded", "failed", "cancelled"}, timeout=180)
    assert done["status"] == "succeeded", done
    assert done["outputs"] == {"done": 6}
    items = [n for n in done["nodes"] if n["node"] == "work" and n["item_index"] is not None]
    assert len(items) == 6 and all(n["attempts"] == 1 for n in items)  # one mission per item
    lines = [line.split() for line in starts.read_text().splitlines()]
    missions = {line[0] for line in lines}
    assert missions == {n["mission_id"] for n in items}
    # A mission killed mid-run starts again (its attempt 2); none is started twice otherwise.
    per_attempt = [(line[0], line[1]) for line in lines]
    assert len(per_attempt) == len(set(per_attempt))
    for item in items:
        assert [e["type"] for e in bare_stack.events(item["mission_id"])].count("mission.succeeded") == 1


def test_cancel_stops_running_and_queued_missions_and_retry_finishes_the_rest(bare_stack, tmp_path):
    starts = _apply_slow(bare_stack, tmp_path)
    bare_stack.start_worker(concurrency=2)
    run = _start(bare_stack, "slow", {"file": str(starts), "items": 4, "seconds": 30})
    wait_for(lambda: starts.exists() and len(starts.read_text().splitlines()) >= 2, 30, what="two items to run")
    resp = bare_stack.request("POST", f"/api/pipeline-runs/{run['id']}/cancel")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled", resp.text

    def all_cancelled() -> bool:
        nodes = bare_stack.request("GET", f"/api/pipeline-runs/{run['id']}").json()["nodes"]
        return all(n["status"] == "cancelled" for n in nodes if n["node"] != "plan")

    wait_for(all_cancelled, 60, 0.2, what="every node of the cancelled run to end")
    cancelled = bare_stack.request("GET", f"/api/pipeline-runs/{run['id']}").json()
    items = [n for n in cancelled["nodes"] if n["node"] == "work" and n["item_index"] is not None]
    assert [n["mission_status"] for n in items] == ["cancelled", "cancelled", None, None]
    for item in items[:2]:
        assert "mission.cancelled" in [e["type"] for e in bare_stack.events(item["mission_id"])]
    assert bare_stack.request("POST", f"/api/pipeline-runs/{run['id']}/cancel").status_code == 409


FLAKY = """
name: flaky
inputs:
  fail_file: {type: string}
nodes:
  - id: fetch
    type: mission
    agent: echo
    payload: {items: [a, b, c]}
  - id: work
    type: mission
    agent: test.flaky
    foreach: nodes.fetch.result.items
    payload: {fail_file: "${inputs.fail_file}", item: "${item}"}
    dependencies: [fetch]
  - id: total
    type: transform
    transform: count
    args: {values: "${nodes.work.result}"}
    dependencies: [work]
outputs:
  done: "${nodes.total.result}"
"""


def test_a_failed_run_retried_reruns_only_its_failed_nodes(stack, tmp_path):
    env = _cli_env(stack, f"retry-{uuid.uuid4().hex[:6]}")
    source = tmp_path / "flaky.yaml"
    source.write_text(FLAKY)
    stack.brain("pipelines", "apply", "-f", str(source), env=env)
    switch = tmp_path / "failing"
    switch.touch()
    failed = stack.brain("pipelines", "run", "flaky", "-i", f"fail_file={switch}", "--wait", env=env, check=False)
    assert failed.returncode == 1, failed.stderr
    run = json.loads(failed.stdout)
    assert run["status"] == "failed" and run["error"]["node"] == "work"
    fetch = next(n for n in run["nodes"] if n["node"] == "fetch")
    switch.unlink()
    retried = json.loads(stack.brain("pipelines", "retry", run["id"], "--wait", env=env).stdout)
    assert retried["id"] == run["id"] and retried["status"] == "succeeded" and retried["outputs"] == {"done": 3}
    kept = next(n for n in retried["nodes"] if n["node"] == "fetch")
    assert (kept["mission_id"], kept["attempts"]) == (fetch["mission_id"], 1)  # not run again


def test_after_a_rollback_new_runs_pin_the_earlier_version(stack, tmp_path):
    env = _cli_env(stack, f"roll-{uuid.uuid4().hex[:6]}")
    first, second = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    first.write_text(FLAKY)
    second.write_text(FLAKY.replace("payload: {items: [a, b, c]}", "payload: {items: [a, b]}"))
    switch = tmp_path / "failing"
    stack.brain("pipelines", "apply", "-f", str(first), env=env)
    stack.brain("pipelines", "apply", "-f", str(second), env=env)
    v2 = json.loads(stack.brain("pipelines", "run", "flaky", "-i", f"fail_file={switch}", "--wait", env=env).stdout)
    assert (v2["version"], v2["outputs"]) == (2, {"done": 2})
    stack.brain("pipelines", "rollback", "flaky", env=env)
    v1 = json.loads(stack.brain("pipelines", "run", "flaky", "-i", f"fail_file={switch}", "--wait", env=env).stdout)
    assert (v1["version"], v1["outputs"]) == (1, {"done": 3})
