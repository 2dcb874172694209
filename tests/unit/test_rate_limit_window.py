"""The rate limiter's one-round-trip script against a real Redis: counting, refusal, headers, retry time."""

from __future__ import annotations

import uuid

import pytest

from api.rate_limits import Rule, hit


@pytest.fixture()
def client(redis_server):
    return redis_server.client()


def _rule(amount: int, window_s: int = 3600, tier: str = "user") -> Rule:
    return Rule(tier, f"test-{uuid.uuid4().hex}", amount, window_s, f"too many ({tier})")


def test_counts_until_the_limit_then_refuses(client):
    rule = _rule(3)
    verdicts = [hit(client, [(rule, "alice")]) for _ in range(4)]
    assert [v.breached for v in verdicts] == [None, None, None, rule]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert all(v.limit == 3 for v in verdicts)
    # Refused inside an hour window: wait for most of the window to pass.
    assert 1 <= verdicts[-1].retry_after <= 2 * 3600
    assert hit(client, [(rule, "bob")]).breached is None  # another key has its own count


def test_a_refused_request_counts_against_no_rule(client):
    tight, loose = _rule(1), _rule(5, tier="tenant")
    assert hit(client, [(loose, "t"), (tight, "u")]).breached is None
    for _ in range(3):
        assert hit(client, [(loose, "t"), (tight, "u")]).breached is tight
    # The loose rule saw only the one admitted request: 4 left.
    assert hit(client, [(loose, "t")]).remaining == 3


def test_headers_describe_the_rule_with_least_room(client):
    wide, narrow = _rule(100, tier="global"), _rule(2, tier="endpoint")
    verdict = hit(client, [(wide, "ip"), (narrow, "caller")])
    assert (verdict.limit, verdict.remaining) == (2, 1)


def test_the_previous_window_weighs_by_its_overlap_with_the_sliding_window(client):
    # A window of 10^9 s: the previous window's count is weighted by 1 - (elapsed fraction of the
    # current one), a fraction that barely moves while the test runs.
    window_ms = 10**12
    rule = _rule(40, window_s=window_ms // 1000)
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    current = now_ms // window_ms
    overlap = 1 - (now_ms - current * window_ms) / window_ms
    client.set(f"brain-rl:{rule.scope}:{rule.amount}/{rule.window_s}:k:{current - 1}", 30)
    verdict = hit(client, [(rule, "k")])
    assert verdict.breached is None
    assert verdict.remaining == int(40 - 30 * overlap - 1)


def test_differently_configured_limits_never_share_a_counter(client):
    # Two API deployments on one Redis, one with a tight user limit: the other's traffic under
    # the same scope and key must not spend it.
    scope = f"test-{uuid.uuid4().hex}"
    generous, tight = Rule("user", scope, 6000, 60, "m"), Rule("user", scope, 8, 60, "m")
    for _ in range(20):
        assert hit(client, [(generous, "alice")]).breached is None
    assert hit(client, [(tight, "alice")]).remaining == 7
