"""Queue and worker gauges at scrape time: they move with the queue and add up across processes and nodes."""

from __future__ import annotations

import pytest

from tests.e2e.obs_helpers import metrics, value
from tests.servers import wait_for

pytestmark = pytest.mark.e2e


def test_queue_gauges_and_sums_across_api_and_worker_processes(bare_stack):
    # No worker yet: what is submitted waits, and the gauges say so.
    api = bare_stack.api_url
    before = metrics(api)
    assert value(before, "brain_queue_depth", queue="missions") == 0
    assert value(before, "brain_queue_oldest_age_seconds", queue="missions") == 0
    assert value(before, "brain_workers_online") == 0

    waiting = [bare_stack.submit("echo", {"i": i})["id"] for i in range(3)]
    first = metrics(api)
    assert value(first, "brain_queue_depth", queue="missions") == 3
    assert value(first, "brain_missions_in_status", status="queued") == 3
    age = value(first, "brain_queue_oldest_age_seconds", queue="missions")
    assert age > 0
    wait_for(
        lambda: value(metrics(api), "brain_queue_oldest_age_seconds", queue="missions") > age + 0.5,
        10,
        what="the oldest age to grow while nobody consumes",
    )
    assert value(metrics(api), "brain_queue_depth", queue="missions") == 3

    # Two worker nodes (two processes each) drain the queue; more missions run across both.
    nodes = [bare_stack.start_worker(concurrency=2), bare_stack.start_worker(concurrency=2)]
    more = [bare_stack.submit("echo", {"j": j})["id"] for j in range(9)]
    for mid in waiting + more:
        assert bare_stack.wait_status(mid)["status"] == "succeeded"
    total = len(waiting) + len(more)

    # Each of the API's two gunicorn workers may answer; every answer is the shared truth.
    for _ in range(4):
        text = metrics(api)
        assert value(text, "brain_queue_depth", queue="missions") == 0
        assert value(text, "brain_queue_oldest_age_seconds", queue="missions") == 0
        assert value(text, "brain_missions_in_status", status="succeeded") == total
        assert value(text, "brain_missions_in_status", status="queued") == 0
        assert value(text, "brain_workers_online") == 2
        assert value(text, "brain_worker_slots") == 4
        assert value(text, "brain_workers_busy") == 0
        assert value(text, "brain_missions_enqueued_total", agent="echo") == total

    node_texts = [metrics(f"http://127.0.0.1:{n.metrics_port}") for n in nodes]
    waits = [value(t, "brain_mission_queue_wait_seconds_count", agent="echo") or 0 for t in node_texts]
    finished = [value(t, "brain_missions_finished_total", agent="echo", status="succeeded") or 0 for t in node_texts]
    assert sum(waits) == total and sum(finished) == total
    # The scrape-time gauges on a worker endpoint agree with the API's.
    assert all(value(t, "brain_workers_online") == 2 for t in node_texts)

    # Several writers in several processes: the audit chain did not fork.
    verify = bare_stack.brain("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stderr


def test_database_pool_metrics(stack):
    if stack.profile == "minimal":
        pytest.skip("SQLite has no connection pool")
    stack.wait_status(stack.submit("echo")["id"])
    text = metrics(stack.api_url)
    # Gauges sum over the live API processes; nothing is checked out between requests.
    assert value(text, "brain_db_pool_checked_out") is not None
    assert value(text, "brain_db_pool_overflow") is not None
    assert value(text, "brain_db_pool_waits_total") is not None
    assert value(text, "brain_db_pool_wait_seconds_count") is not None
