"""Redis Sentinel drill: the master is killed under load; API and workers follow the promoted replica.

A real master, replica and three sentinels on loopback; BRAiN's state and broker both reach
Redis through `sentinel://`. Every mission that got a 202 finishes exactly once, refusals
during the failover are 503s with Retry-After, and the figures are printed.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.load import Load, assert_only_202_or_503
from tests.servers import start_sentinel_group, wait_for
from tests.stack import make_stack

pytestmark = pytest.mark.e2e

RECOVERY_TARGET_S = 30


@pytest.fixture
def drill(request):
    group = start_sentinel_group()
    stack = make_stack(
        "standard",
        request,
        "sentinel_drill",
        BRAIN_REDIS_URL=group.url,
        BRAIN_REDISPATCH_AFTER_S="5",  # a message the dead master took with it is published again
        BRAIN_GOVERNANCE="false",
        NEURORAIL_PHASE="2",
        NEURORAIL_ENFORCEMENT_PERCENTAGE="100",
        NEURORAIL_REFLEX_FAILURES="2",
        NEURORAIL_REFLEX_COOLDOWN_S="600",
        NEURORAIL_ROLLBACK_MIN_MISSIONS="100000",
    )
    try:
        with stack.serving(concurrency=2):
            yield stack, group
    finally:
        group.stop()


def _tagged(stack, tag: str) -> list[dict]:
    found, cursor = [], None
    while True:
        params = {"tag": tag, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = stack.request("GET", "/api/missions", params=params).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def _breaker(stack, name: str) -> str:
    items = stack.request("GET", "/api/neurorail/reflexes").json()["items"]
    return next((b["state"] for b in items if b["name"] == name), "closed")


def test_killing_the_redis_master_under_load_loses_no_mission(drill, tmp_path):
    stack, group = drill
    # Rail state held in Redis before the kill: an open breaker must still be open after it.
    failing = tmp_path / "failing"
    failing.write_text("on")
    for _ in range(2):
        stack.wait_status(stack.submit("test.flaky", {"fail_file": str(failing)})["id"])
    wait_for(lambda: _breaker(stack, "test.flaky") == "open", 30, what="the breaker to open")
    wait_for(
        lambda: (
            group.replica.client().info("replication")["master_repl_offset"]
            >= group.master.client().info("replication")["master_repl_offset"]
        ),
        10,
        what="the replica to catch up",
    )
    tag = f"drill-{uuid.uuid4().hex[:6]}"
    body = lambda: {"name": "drill", "agent": "echo", "payload": {}, "tags": [tag]}  # noqa: E731
    with Load(stack, body, rate=20) as load:
        wait_for(lambda: len(load.accepted()) >= 30, 30, what="load before the kill")
        before = len(load.answers)
        group.master.proc.kill()
        killed = time.monotonic()
        wait_for(lambda: group.master_port() == group.replica.port, 30, what="the sentinels to promote the replica")
        failover_s = time.monotonic() - killed

        def served_after_kill() -> bool:
            # A mission accepted after the kill that already succeeded: the whole path works again.
            after = [mission_id for status, mission_id, _ in load.answers[before:] if status == 202]
            return any(stack.mission(mission_id)["status"] == "succeeded" for mission_id in after)

        wait_for(served_after_kill, RECOVERY_TARGET_S, 0.2, what="a mission submitted after the kill to succeed")
        recovery_s = time.monotonic() - killed
        time.sleep(3)  # more load on the new master
    accepted = load.accepted()

    def all_final() -> bool:
        return all(m["status"] in ("succeeded", "failed") for m in _tagged(stack, tag))

    wait_for(all_final, 90, 1, what="every accepted mission to finish")
    missions = {m["id"]: m for m in _tagged(stack, tag)}
    lost = [i for i in accepted if i not in missions or missions[i]["status"] != "succeeded"]
    twice = [i for i, m in missions.items() if m["attempts"] != 1]
    refused = sum(1 for status, _, _ in load.answers if status != 202)
    print(
        f"\nsentinel drill: accepted {len(accepted)}, refused {refused}, lost {len(lost)}, run twice "
        f"{len(twice)}, failover {failover_s:.1f} s, recovery {recovery_s:.1f} s (target {RECOVERY_TARGET_S} s)"
    )
    assert not lost, lost[:5]
    assert not twice, twice[:5]
    assert set(missions) == set(accepted)  # nothing stored that the client was not told about
    assert_only_202_or_503(load)
    assert _breaker(stack, "test.flaky") == "open"  # the promoted replica had the rail state
    # The workers kept consuming on the new master (celery#6348, #8030): the node is still serving.
    probe = stack.submit("echo", {"after": "failover"})
    assert stack.wait_status(probe["id"], timeout=30)["status"] == "succeeded"
