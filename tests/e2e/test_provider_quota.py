"""Provider quotas across worker nodes: one requests-per-window limit, and a 429 that stops the model everywhere."""

from __future__ import annotations

import pytest
import redis
import requests

from tests.fake_llm import FakeProvider
from tests.servers import wait_for
from tests.stack import make_stack

pytestmark = pytest.mark.e2e

RPM, WINDOW_S = 4, 2.0
# Provider arrivals trail Redis's admissions by a few milliseconds, unevenly: the windows
# checked at the provider are this much shorter than the one Redis enforces.
ARRIVAL_JITTER_S = 0.25


@pytest.fixture
def provider(tmp_path):
    fake = FakeProvider(tmp_path, latency=0.05, tokens=5)
    yield fake
    fake.close()


@pytest.fixture
def quota_stack(request, provider):
    stack = make_stack(
        "standard",
        request,
        "provider_quota",
        BRAIN_GOVERNANCE="false",
        BRAIN_LLM_BASE_URL=provider.url,
        BRAIN_LLM_MODEL="tiny",
        BRAIN_LLM_QUOTAS=f'{{"tiny": {{"rpm": {RPM}, "window_s": {WINDOW_S}}}}}',
        BRAIN_LLM_QUOTA_MAX_WAIT_S="0.5",
    )
    stack.start_api()
    stack.nodes = [stack.start_worker(concurrency=4, pool="gevent", queues="missions.io") for _ in range(2)]
    yield stack
    stack.stop()


def _finish(stack, ids: list[str], timeout: float = 90) -> list[dict]:
    return [stack.wait_status(mission_id, timeout=timeout) for mission_id in ids]


def test_two_worker_nodes_share_one_requests_per_window_quota(quota_stack, provider):
    ids = [quota_stack.submit("llm.chat", {"prompt": f"q{n}"})["id"] for n in range(16)]
    done = _finish(quota_stack, ids)
    assert [m["status"] for m in done] == ["succeeded"] * 16, [m.get("error") for m in done]
    assert all(m["attempts"] == 1 for m in done)  # waiting for the quota used no attempt
    nodes = {e["actor"] for mission_id in ids for e in quota_stack.events(mission_id) if e["type"] == "mission.started"}
    assert len(nodes) == 2, f"both nodes served missions: {nodes}"

    arrivals = sorted(t for t, status in provider.stats()["arrivals"] if status == 200)
    assert len(arrivals) == 16
    busiest = max(sum(1 for u in arrivals if t <= u < t + WINDOW_S - ARRIVAL_JITTER_S) for t in arrivals)
    assert busiest <= RPM, f"{busiest} calls reached the provider inside one {WINDOW_S} s window"

    # The missions that found the quota spent waited: in the worker, or deferred back to the queue.
    deferred = [e for mission_id in ids for e in quota_stack.events(mission_id) if e["type"] == "mission.deferred"]
    assert deferred and all(e["data"]["reason"] == "provider quota of tiny spent" for e in deferred)
    metrics = "".join(_worker_metrics(node) for node in quota_stack.nodes)
    assert 'brain_llm_quota_wait_seconds_count{how="deferred",model="tiny"}' in metrics


def test_a_provider_429_backs_the_model_off_on_every_node(quota_stack, provider):
    provider.throttle(1, retry_after=3)
    first = quota_stack.submit("llm.chat", {"prompt": "first"})
    wait_for(lambda: any(s == 429 for _, s in provider.stats()["arrivals"]), 30, what="the provider's 429")
    throttled_at = next(t for t, s in provider.stats()["arrivals"] if s == 429)
    client = redis.Redis.from_url(quota_stack.env["BRAIN_REDIS_URL"])
    backoff_key = f"brain:quota:{{{provider.root.removeprefix('http://')}:tiny}}:backoff"
    wait_for(lambda: client.pttl(backoff_key) > 0, 10, what="the back-off")

    later = [quota_stack.submit("llm.chat", {"prompt": f"later {n}"})["id"] for n in range(3)]
    done = _finish(quota_stack, [first["id"], *later])
    assert [m["status"] for m in done] == ["succeeded"] * 4, [m.get("error") for m in done]
    assert all(m["attempts"] == 1 for m in done)  # a 429 waited out is not a failed attempt

    calls = [t for t, s in provider.stats()["arrivals"] if s == 200]
    early = [round(t - throttled_at, 3) for t in calls if t < throttled_at + 3 - ARRIVAL_JITTER_S]
    assert not early, f"calls reached the provider {early} s into its 3 s Retry-After"
    assert any(e["type"] == "mission.deferred" for e in quota_stack.events(first["id"]))
    metrics = "".join(_worker_metrics(node) for node in quota_stack.nodes)
    assert 'brain_llm_provider_throttled_total{model="tiny"} 1.0' in metrics


def _worker_metrics(node) -> str:
    return requests.get(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=10).text


@pytest.fixture
def tenant_quota_stack(request, provider):
    stack = make_stack(
        "standard",
        request,
        "tenant_tpm",
        BRAIN_MULTI_TENANCY="true",
        BRAIN_GOVERNANCE="false",
        BRAIN_LLM_BASE_URL=provider.url,
        BRAIN_LLM_MODEL="tiny",
        BRAIN_LLM_QUOTA_MAX_WAIT_S="0.5",
    )
    stack.start_api()
    stack.nodes = [stack.start_worker(concurrency=4, pool="gevent", queues="missions.io") for _ in range(2)]
    yield stack
    stack.stop()


def test_a_tenants_llm_tokens_per_minute_defers_its_missions_and_no_one_elses(tenant_quota_stack, provider):
    stack = tenant_quota_stack
    made = stack.request(
        "POST",
        "/api/tenants",
        json={"id": "tpm", "name": "T", "plan": "standard", "limits": {"llm_tokens_per_minute": 30}},
    )
    assert made.status_code == 201, made.text
    limited = stack.token(sub="l", tenant="tpm", roles=("operator",))
    neighbour = stack.token(sub="n", tenant="tpm-neighbour", roles=("operator",))
    # Each call takes its 10 max_tokens up front (and settles at the 12 it used): 3 fit in the minute.
    body = {"name": "q", "agent": "llm.chat", "payload": {"prompt": "q", "max_tokens": 10}}
    ids = []
    for _ in range(6):
        resp = stack.request("POST", "/api/missions", token=limited, json=body)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])

    def deferred() -> list[dict]:
        return [e for m in ids for e in stack.events(m) if e["type"] == "mission.deferred"]

    wait_for(lambda: len(deferred()) >= 3, 60, 0.2, what="the tenant's missions over its tokens per minute deferred")
    assert all(e["data"]["reason"] == "the tenant's llm_tokens_per_minute spent" for e in deferred())
    # 3 fit if all took before any settled, 2 if the first settled at 12 first: nothing past the minute.
    arrived = len(provider.stats()["arrivals"])
    assert 2 <= arrived <= 3
    statuses = [stack.request("GET", f"/api/missions/{m}", token=limited).json() for m in ids]
    waiting = [m for m in statuses if m["status"] == "queued"]
    assert len(waiting) == 6 - arrived and all(m["deferred_until"] for m in waiting), statuses

    other = stack.request("POST", "/api/missions", token=neighbour, json=body).json()["id"]
    wait_for(
        lambda: stack.request("GET", f"/api/missions/{other}", token=neighbour).json()["status"] == "succeeded",
        60,
        0.2,
        what="the neighbour's mission",
    )
    metrics = requests.get(f"{stack.api_url}/metrics", timeout=10).text
    assert 'brain_tenant_deferrals_total{limit="llm_tokens_per_minute",tenant="tpm"}' in metrics
