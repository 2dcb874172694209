"""The sweep's leader lease (real Redis): one holder at a time, handed over on release or when it lapses."""

from __future__ import annotations

import time

from brain.leader import LeaderLease


def test_one_holder_at_a_time_and_handover(redis_server):
    client = redis_server.client()
    key = f"test:lease:{time.time_ns()}"
    a, b = LeaderLease(client, key, ttl_s=1), LeaderLease(client, key, ttl_s=1)
    assert a.hold() and not b.hold()
    assert a.hold()  # renewing keeps it
    assert a.holder() == a.token
    a.release()
    assert b.hold() and not a.hold()
    b.release()


def test_a_holder_that_stops_renewing_loses_the_lease(redis_server):
    client = redis_server.client()
    key = f"test:lease:{time.time_ns()}"
    a, b = LeaderLease(client, key, ttl_s=0.3), LeaderLease(client, key, ttl_s=0.3)
    assert a.hold()
    time.sleep(0.5)  # a died: no renewal
    assert b.hold() and b.holder() == b.token
    a.release()  # a late release by the old holder does not drop the new one's lease
    assert b.holder() == b.token


def test_every_worker_node_runs_the_recovery_loop():
    from brain.celery import app
    from workers.sweep_step import RecoveryLoop

    assert RecoveryLoop in app.steps["worker"]
