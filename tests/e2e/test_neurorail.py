"""NeuroRail end to end: real prefork workers, real Redis, missions submitted over HTTP."""

from __future__ import annotations

import pytest
import requests

from tests.servers import wait_for
from tests.stack import make_stack

pytestmark = pytest.mark.e2e

ENFORCING = {
    "NEURORAIL_PHASE": "2",
    "NEURORAIL_ENFORCEMENT_PERCENTAGE": "100",
    "NEURORAIL_REFLEX_FAILURES": "3",
    "NEURORAIL_REFLEX_COOLDOWN_S": "3",
    "NEURORAIL_RETRY_BACKOFF_S": "0.2",
    "NEURORAIL_ROLLBACK_MIN_MISSIONS": "100000",  # the guard has its own test
    "BRAIN_GOVERNANCE": "false",
}


def _stack(request, name: str, workers: int = 2, concurrency: int = 2, **env: str):
    s = make_stack("standard", request, name, **{**ENFORCING, **env})
    s.start_api()
    s.start_beat()
    for _ in range(workers):
        s.start_worker(concurrency=concurrency)
    return s


@pytest.fixture(scope="module")
def rails(request):
    """Phase 2, 100% enforcing, two worker processes, no tenant budget."""
    s = _stack(request, "neurorail_main")
    yield s
    s.stop()


def _breaker(stack, name: str) -> dict:
    items = stack.request("GET", "/api/neurorail/reflexes").json()["items"]
    return next((b for b in items if b["name"] == name), {"state": "closed", "failures_in_window": 0})


def test_mission_budget_stops_mid_run(rails):
    mission = rails.submit("test.spend", {"steps": 10, "tokens": 10}, budget={"max_tokens": 55})
    done = rails.wait_status(mission["id"])
    assert done["status"] == "over_budget"
    assert done["error"]["code"] == "NR-E002"
    assert done["usage"]["tokens"] == 50  # the sixth charge would have crossed 55
    assert done["budget"] == {"max_tokens": 55}


def test_unknown_option_rejected_at_enqueue(rails):
    resp = rails.request("POST", "/api/missions", json={"name": "x", "agent": "echo", "max_cpu": 3})
    assert resp.status_code == 422
    assert "max_cpu" in resp.json()["errors"]["json"]
    resp = rails.request("POST", "/api/missions", json={"name": "x", "agent": "echo", "budget": {"max_tokens": -1}})
    assert resp.status_code == 422


def test_start_within_expires_a_mission_that_waited_too_long(rails):
    blockers = [rails.submit("sleep", {"seconds": 3}) for _ in range(4)]  # fill all four slots
    for b in blockers:
        rails.wait_status(b["id"], "running", timeout=30)
    late = rails.submit("echo", {"x": 1}, start_within_s=1)
    done = rails.wait_status(late["id"], timeout=30)
    assert done["status"] == "expired"
    assert done["error"]["code"] == "NR-E006"
    assert done["result"] is None


def test_retryable_error_is_retried_with_attempts_counted(rails):
    mission = rails.submit("test.retryable", {"succeed_on": 3}, max_retries=3)
    done = rails.wait_status(mission["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 3
    assert [e["type"] for e in rails.events(mission["id"])].count("mission.retried") == 2
    exhausted = rails.wait_status(rails.submit("test.retryable", {"succeed_on": 9}, max_retries=1)["id"])
    assert exhausted["status"] == "failed" and exhausted["attempts"] == 2


def test_breaker_opens_defers_sends_one_probe_and_closes(rails, tmp_path):
    fail_file = tmp_path / "failing"
    fail_file.write_text("on")
    payload = {"fail_file": str(fail_file), "seconds": 1.0}
    # Three slow failures cannot all fit on one -c 2 node: both worker processes see some,
    # and their failures add up in the one shared breaker.
    failing = [rails.submit("test.flaky", payload) for _ in range(3)]
    done = [rails.wait_status(m["id"]) for m in failing]
    assert all(d["status"] == "failed" and d["error"]["code"] == "NR-E004" for d in done)
    nodes = {e["actor"] for m in failing for e in rails.events(m["id"]) if e["type"] == "mission.started"}
    assert len(nodes) == 2, nodes
    assert _breaker(rails, "test.flaky")["state"] == "open"

    fail_file.unlink()  # the agent is healthy again, but the circuit is still open
    held = [rails.submit("test.flaky", {**payload, "seconds": 0.3}) for _ in range(4)]
    deferred = wait_for(
        lambda: [m for m in (rails.mission(h["id"]) for h in held) if m["deferred_until"]],
        20,
        what="missions deferred by the open circuit",
    )
    assert deferred and all(m["status"] == "queued" for m in deferred)

    results = [rails.wait_status(h["id"], timeout=60) for h in held]
    assert all(r["status"] == "succeeded" for r in results)
    probes = [h for h in held if any(e["type"] == "reflex.probe" for e in rails.events(h["id"]))]
    assert len(probes) == 1  # exactly one probe while half-open, with four processes racing
    assert _breaker(rails, "test.flaky")["state"] == "closed"


def test_breaker_reset_endpoint(rails, tmp_path):
    fail_file = tmp_path / "failing"
    fail_file.write_text("on")
    for m in [rails.submit("test.flaky", {"fail_file": str(fail_file)}, name="reset-me") for _ in range(3)]:
        rails.wait_status(m["id"])
    wait_for(lambda: _breaker(rails, "test.flaky")["state"] == "open", 10, what="open breaker")
    resp = rails.request("POST", "/api/neurorail/reflexes/test.flaky/reset")
    assert resp.status_code == 200 and resp.json()["state"] == "closed"
    assert _breaker(rails, "test.flaky")["state"] == "closed"


def test_worker_metrics_have_neurorail_names(rails):
    rails.wait_status(rails.submit("test.spend", {"steps": 1, "tokens": 7})["id"])
    text = "".join(
        requests.get(f"http://127.0.0.1:{p.metrics_port}/metrics", timeout=10).text
        for p in rails.procs
        if hasattr(p, "metrics_port")
    )
    for name in (
        "neurorail_attempts_total",
        "neurorail_attempts_failed_total",
        "neurorail_budget_violations_total",
        "neurorail_tokens_used_total",
        "neurorail_reflex_actions_total",
        "neurorail_reflex_state",
        "neurorail_enforcement_percentage",
    ):
        assert name in text, name


def test_parallel_missions_never_overshoot_the_tenant_budget(request):
    stack = _stack(
        request,
        "neurorail_tenant",
        workers=2,
        concurrency=4,
        NEURORAIL_TENANT_TOKENS_PER_DAY="500",
        NEURORAIL_BUDGET_ESTIMATE_TOKENS="10",
    )
    try:
        ids = [stack.submit("test.spend", {"steps": 10, "tokens": 10, "pause": 0.02})["id"] for _ in range(16)]
        done = [stack.wait_status(i, timeout=90) for i in ids]
        day = next(
            b
            for b in stack.request("GET", "/api/budgets").json()["items"]
            if b["scope"] == "tenant:default" and b["period"] == "day"
        )
        assert day["spent"]["tokens"] <= 500
        assert day["reserved"]["tokens"] == 0  # every reservation settled
        assert day["spent"]["tokens"] == sum(d["usage"]["tokens"] for d in done)
        assert any(d["status"] == "over_budget" for d in done)
        assert any(d["status"] == "succeeded" for d in done)
    finally:
        stack.stop()


@pytest.mark.parametrize(
    ("phase", "percentage", "expected"),
    [
        ("1", "100", "succeeded"),  # observe: recorded, never enforced
        ("2", "0", "succeeded"),  # canary 0%: nobody enforced
        ("2", "100", "over_budget"),  # canary 100%: everybody enforced
    ],
)
def test_phase_and_canary_decide_enforcement(request, phase, percentage, expected):
    stack = _stack(
        request,
        f"neurorail_canary_{phase}_{percentage}",
        workers=1,
        NEURORAIL_PHASE=phase,
        NEURORAIL_ENFORCEMENT_PERCENTAGE=percentage,
        NEURORAIL_TENANT_TOKENS_PER_DAY="20",
        NEURORAIL_BUDGET_ESTIMATE_TOKENS="5",
    )
    try:
        done = stack.wait_status(stack.submit("test.spend", {"steps": 5, "tokens": 10})["id"])
        assert done["status"] == expected
        if expected == "succeeded":
            assert done["would_have"] == ["NR-E002"] and done["usage"]["tokens"] == 50
        else:
            assert done["error"]["code"] == "NR-E002" and done["would_have"] == []
    finally:
        stack.stop()


def test_rollback_guard_steps_the_canary_back(request):
    stack = _stack(
        request,
        "neurorail_rollback",
        workers=1,
        NEURORAIL_TENANT_TOKENS_PER_DAY="10",
        NEURORAIL_BUDGET_ESTIMATE_TOKENS="1",
        NEURORAIL_ROLLBACK_MIN_MISSIONS="5",
        NEURORAIL_ROLLBACK_ERROR_RATE="0.05",
    )
    try:
        assert stack.request("GET", "/api/neurorail/rollout").json()["enforcement_percentage"] == 100
        ids = [stack.submit("test.spend", {"steps": 1, "tokens": 50})["id"] for _ in range(6)]
        assert all(stack.wait_status(i)["status"] == "over_budget" for i in ids)
        wait_for(
            lambda: stack.request("GET", "/api/neurorail/rollout").json()["enforcement_percentage"] == 50,
            30,
            what="the guard to step 100 -> 50",
        )
    finally:
        stack.stop()


def test_pool_without_time_limits_warns_at_start(rails):
    proc = rails.start_worker(pool="solo", queues="nothing-here", BRAIN_WORKER_METRICS_PORT="0")
    try:
        assert "solo pool cannot enforce time limits" in proc.tail(200)
    finally:
        proc.stop()
