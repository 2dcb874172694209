"""Over HTTP: each rate-limit tier, shared by two API processes on one Redis; 429 shape and headers."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.obs_helpers import value

pytestmark = pytest.mark.e2e

LIMITS = {
    "BRAIN_TRUSTED_PROXIES": "127.0.0.1",  # so each test can act as its own client IP
    "BRAIN_RATE_LIMIT_GLOBAL": "2/minute",  # tier 1: burst 12 per minute (sustained 20 per 10 minutes)
    "BRAIN_RATE_LIMIT_BURST": "12",
    "BRAIN_RATE_LIMIT_SUBMIT": "3/minute",
    "BRAIN_RATE_LIMIT_USER": "8/minute",
    "BRAIN_RATE_LIMIT_TENANT": "10/minute",
    "BRAIN_CORS_ORIGINS": "https://ui.example.com",
    "BRAIN_API_WORKERS": "1",
}


@pytest.fixture(scope="module")
def limited(stack):
    """Two more API processes of the shared stack with small limits: they share the counters."""
    procs = [stack.start_api(**LIMITS) for _ in range(2)]
    yield stack, [url for _, url in procs]
    for proc, _ in procs:
        proc.stop()


def _ip() -> str:
    n = uuid.uuid4().int
    return f"198.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _get(stack, url, ip, token="", path="/api/missions/info"):
    return stack.request("GET", path, url=url, token=token, headers={"X-Forwarded-For": ip})


def _assert_429(resp, tier_words: str) -> None:
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert body["code"] == 429 and body["error"] == "rate_limited" and body["request_id"]
    assert tier_words in body["message"]
    assert int(resp.headers["Retry-After"]) >= 0
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in resp.headers, resp.headers
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["X-Frame-Options"] == "DENY"  # security headers on a 429 too


def test_tier1_per_client_ip_shared_by_two_api_processes(limited):
    stack, (a, b) = limited
    ip = _ip()
    # Anonymous and authenticated requests alike count against the client IP; 6 + 6 over two APIs.
    for i in range(12):
        resp = _get(stack, a if i % 2 else b, ip, token=stack.token(sub=f"u{i}", tenant=f"t{i}"))
        assert resp.status_code == 200, (i, resp.text)
        assert resp.headers["X-RateLimit-Limit"]
        assert "Retry-After" not in resp.headers  # only a 429 tells the client to wait
    _assert_429(_get(stack, a, ip), "client")
    _assert_429(_get(stack, b, ip), "client")
    assert _get(stack, a, _ip()).status_code != 429  # another client is unaffected
    total = sum(
        value(requests.get(f"{u}/metrics", timeout=10).text, "rate_limit_exceeded_total", tier="global") or 0
        for u in (a, b)
    )
    assert total >= 2


def test_forwarded_for_is_ignored_from_untrusted_peers(stack):
    # The shared API trusts no proxy: rotating X-Forwarded-For does not give a fresh budget.
    _, url = stack.start_api(**{**LIMITS, "BRAIN_TRUSTED_PROXIES": ""})
    codes = [_get(stack, url, _ip()).status_code for _ in range(14)]
    assert 429 in codes


def test_tier2_mission_submission_limit(limited):
    stack, (a, b) = limited
    ip, token = (
        _ip(),
        stack.token(sub=f"sub-{uuid.uuid4().hex[:6]}", tenant=f"t{uuid.uuid4().hex[:6]}", roles=("operator",)),
    )
    body = {"name": "rl", "agent": "echo"}
    for i, (url, path) in enumerate([(a, "/api/missions"), (b, "/api/missions/enqueue"), (a, "/api/missions")]):
        resp = stack.request("POST", path, url=url, token=token, json=body, headers={"X-Forwarded-For": ip})
        assert resp.status_code == 202, (i, resp.text)
    resp = stack.request("POST", "/api/missions", url=b, token=token, json=body, headers={"X-Forwarded-For": ip})
    _assert_429(resp, "endpoint")
    assert _get(stack, a, ip, token=token).status_code == 200  # reads are not the submission limit


def test_tier3_per_user_and_per_tenant(limited):
    stack, (a, b) = limited
    tenant = f"t{uuid.uuid4().hex[:8]}"
    alice = stack.token(sub="alice", tenant=tenant, roles=("viewer",))
    for i in range(8):
        assert _get(stack, (a, b)[i % 2], _ip(), token=alice).status_code == 200
    _assert_429(_get(stack, a, _ip(), token=alice), "user")
    bob = stack.token(sub="bob", tenant=tenant, roles=("viewer",))
    # Another user of the tenant is unaffected; alice's refused try cost the tenant nothing.
    assert _get(stack, b, _ip(), token=bob).status_code == 200
    assert _get(stack, a, _ip(), token=bob).status_code == 200
    # The tenant's 10 are spent (alice's 8, bob's 2): a third user waits.
    _assert_429(_get(stack, b, _ip(), token=stack.token(sub="carol", tenant=tenant, roles=("viewer",))), "tenant")
    other = stack.token(sub="alice", tenant=f"o{uuid.uuid4().hex[:8]}", roles=("viewer",))
    assert _get(stack, a, _ip(), token=other).status_code == 200
    text = requests.get(f"{a}/metrics", timeout=10).text + requests.get(f"{b}/metrics", timeout=10).text
    assert (value(text, "rate_limit_exceeded_total", tier="user") or 0) >= 1
    assert (value(text, "rate_limit_exceeded_total", tier="tenant") or 0) >= 1


def test_health_and_metrics_are_not_rate_limited(limited):
    stack, (a, _) = limited
    ip = _ip()
    codes = {
        stack.request("GET", "/health/live", url=a, headers={"X-Forwarded-For": ip}).status_code for _ in range(20)
    }
    assert codes == {200}


# The same two APIs are configured with a trusted proxy and a CORS origin: headers that depend on it.
def test_hsts_behind_a_trusted_tls_proxy(limited):
    stack, (a, _) = limited
    resp = stack.request(
        "GET", "/api/missions/info", url=a, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": _ip()}
    )
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_allows_only_the_configured_origin(limited):
    stack, (a, _) = limited
    pre = stack.request(
        "OPTIONS",
        "/api/missions",
        url=a,
        token=None,
        headers={"Origin": "https://ui.example.com", "Access-Control-Request-Method": "POST", "X-Forwarded-For": _ip()},
    )
    assert pre.status_code == 204 and not pre.content
    assert pre.headers["Access-Control-Allow-Origin"] == "https://ui.example.com"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    other = stack.request(
        "GET", "/api/missions/info", url=a, headers={"Origin": "https://evil.example", "X-Forwarded-For": _ip()}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
