"""Prometheus endpoints: the API sums its gunicorn workers; each worker node exports its own."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.e2e


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_api_metrics_sum_all_gunicorn_workers(bare_stack):
    # A fresh API: its two gunicorn workers each take part of the load.
    _, api = bare_stack.start_api(BRAIN_API_WORKERS="2", BRAIN_API_THREADS="1")
    n = 40
    for i in range(n):
        resp = bare_stack.request(
            "POST", "/api/missions", url=api, json={"name": f"m{i}", "agent": "echo", "priority": "HIGH"}
        )
        assert resp.status_code == 202
    text = requests.get(f"{api}/metrics", timeout=10).text
    assert _sample(text, "brain_missions_enqueued_total", agent="echo", priority="HIGH") == n
    pids = set(re.findall(r'pid="(\d+)"', text))
    assert len(pids) <= 1  # summed, not one series per process


def test_worker_node_metrics_endpoint(bare_stack):
    worker = bare_stack.start_worker(concurrency=2)
    ids = [bare_stack.submit("echo", {"i": i})["id"] for i in range(6)] + [bare_stack.submit("test.fail")["id"]]
    for mid in ids:
        bare_stack.wait_status(mid)
    text = requests.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=10).text
    assert _sample(text, "brain_missions_finished_total", agent="echo", status="succeeded") == 6
    assert _sample(text, "brain_missions_finished_total", agent="test.fail", status="failed") == 1
    assert _sample(text, "brain_mission_duration_seconds_count", agent="echo") == 6
