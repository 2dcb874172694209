"""Fair scheduling on a multi-tenant stack: shares by weight, a small tenant not stuck behind a backlog,
a short broker queue, and running_max held across the deployment."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.servers import wait_for
from tests.stack import make_stack

pytestmark = pytest.mark.e2e

SLOTS, MARGIN = 2, 4


@pytest.fixture
def fair_stack(request):
    s = make_stack("standard", request, "fairness", BRAIN_MULTI_TENANCY="true", BRAIN_FAIR_QUEUE_MARGIN=str(MARGIN))
    try:
        s.start_api()
        yield s
    finally:
        s.stop()


def _tenant(stack, tenant: str, **changes) -> str:
    token = stack.token(sub=f"{tenant}-dev", tenant=tenant, roles=("operator",))
    if changes:
        resp = stack.request("PATCH", f"/api/tenants/{tenant}", json=changes)
        assert resp.status_code == 200, resp.text
    return token


def _batch(stack, token: str, n: int, seconds: float) -> None:
    body = {"missions": [{"name": f"m{i}", "agent": "sleep", "payload": {"seconds": seconds}} for i in range(n)]}
    resp = stack.request("POST", "/api/missions/batch", token=token, json=body)
    assert resp.status_code == 200 and resp.json()["accepted"] == n, resp.text


def _rows(stack, sql: str, **params) -> list:
    engine = create_engine(stack.admin_database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def _started_in_order(stack) -> list[tuple[str, object]]:
    return [
        tuple(r)
        for r in _rows(
            stack, "SELECT tenant, started_at FROM missions WHERE started_at IS NOT NULL ORDER BY started_at"
        )
    ]


def test_weighted_shares_a_short_broker_queue_and_no_wait_behind_a_backlog(fair_stack):
    stack = fair_stack
    heavy = _tenant(stack, "heavy", weight=3)
    light = _tenant(stack, "light", weight=1)
    small = _tenant(stack, "small")
    # Both backlogs are there before any worker runs: the shares are the dispatcher's, not arrival order.
    _batch(stack, heavy, 150, 0.05)
    _batch(stack, light, 150, 0.05)
    stack.start_worker(concurrency=SLOTS)

    wait_for(lambda: len(_started_in_order(stack)) >= 80, 120, 0.2, what="80 missions started")
    first = [tenant for tenant, _ in _started_in_order(stack)[:80]]
    share = first.count("heavy") / len(first)
    assert 0.65 <= share <= 0.85, f"heavy got {share:.2f} of the first 80 starts (weight 3:1 → 0.75)"

    # The broker holds about the free slots plus the margin, never the whole backlog.
    depths = stack.request("GET", "/api/missions/info").json()["queues"]
    assert sum(depths.values()) <= SLOTS + MARGIN + 2, depths

    resp = stack.request(
        "POST", "/api/missions", token=small, json={"name": "one", "agent": "sleep", "payload": {"seconds": 0}}
    )
    assert resp.status_code == 202, resp.text
    mission_id = resp.json()["id"]

    def finished() -> bool:
        got = stack.request("GET", f"/api/missions/{mission_id}", token=small).json()
        return got["status"] == "succeeded"

    wait_for(finished, 120, 0.2, what="the small tenant's mission")
    started = _rows(stack, "SELECT started_at FROM missions WHERE id = :i", i=mission_id)[0][0]
    behind = _rows(
        stack,
        "SELECT count(*) FROM missions WHERE tenant IN ('heavy', 'light') AND (started_at IS NULL OR started_at > :t)",
        t=started,
    )[0][0]
    assert behind >= 50, f"only {behind} backlog missions were still waiting when the small tenant's ran"


def test_running_max_holds_across_worker_nodes_and_is_counted(fair_stack):
    stack = fair_stack
    capped = _tenant(stack, "capped", limits={"running_max": 1})
    stack.start_worker(concurrency=2)
    stack.start_worker(concurrency=2)
    _batch(stack, capped, 6, 0.5)
    most = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (running,), (done,) = (
            _rows(stack, "SELECT count(*) FROM missions WHERE tenant = 'capped' AND status = 'running'")[0],
            _rows(stack, "SELECT count(*) FROM missions WHERE tenant = 'capped' AND status = 'succeeded'")[0],
        )
        most = max(most, running)
        if done == 6:
            break
        time.sleep(0.05)
    assert done == 6
    assert most == 1, f"{most} of the tenant's missions ran at once (running_max 1)"
    metrics = requests.get(f"{stack.api_url}/metrics", timeout=10).text
    line = next(
        (
            row
            for row in metrics.splitlines()
            if row.startswith("brain_tenant_deferrals_total") and 'tenant="capped"' in row
        ),
        "",
    )
    assert 'limit="running_max"' in line and float(line.rsplit(" ", 1)[1]) > 0, line
