"""Lazy liveness leases: none for a short run, written and refreshed for a long one, gone after release."""

from __future__ import annotations

import time

import pytest
import redis

from brain.lease import LeaseKeeper, _Lease, lease_alive
from brain.state import lease_key
from tests.servers import wait_for


@pytest.fixture
def client(redis_server):
    c = redis.Redis(port=redis_server.port, db=15)
    c.flushdb()
    return c


def test_a_short_run_costs_no_lease_write(client):
    keeper = LeaseKeeper(client, ttl_s=2)
    keeper.acquire("short")
    keeper.release("short")
    time.sleep(keeper.first_write_s * 2)
    assert not client.exists(lease_key("short"))


def test_a_long_run_gets_a_lease_well_within_the_ttl_and_keeps_it(client):
    keeper = LeaseKeeper(client, ttl_s=2)
    keeper.acquire("long")
    started = time.monotonic()
    wait_for(lambda: client.exists(lease_key("long")), 2, 0.02, what="the lease")
    # The sweeper only considers missions started more than a TTL ago.
    assert time.monotonic() - started < 2 / 2
    time.sleep(2.5)  # past one TTL: refreshed meanwhile
    assert lease_alive(client, ["long"]) == {"long": True}
    assert client.get(lease_key("long")).decode() == keeper.owner
    keeper.release("long")
    assert not client.exists(lease_key("long"))


def test_a_release_racing_the_first_write_leaves_no_lease(client):
    keeper = LeaseKeeper(client, ttl_s=2)  # no acquire(): no thread, _write_due() is driven here
    keeper._active["race"] = _Lease(due=0.0)
    real_pipeline = client.pipeline

    def pipeline(**kwargs):
        pipe = real_pipeline(**kwargs)
        execute = pipe.execute

        def release_then_execute():
            keeper.release("race")  # sees `written` and deletes before the SET lands
            return execute()

        pipe.execute = release_then_execute
        return pipe

    client.pipeline = pipeline
    keeper._write_due()
    assert not client.exists(lease_key("race"))
    assert keeper._active == {}
