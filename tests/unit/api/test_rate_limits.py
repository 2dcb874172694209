"""Rate limits: rule strings from settings, the client IP behind proxies, the Redis script (counts, refusals, retry)."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from api.rate_limits import Rule, client_ip, hit, rules_of
from brain.config import load_settings
from brain.errors import ConfigError

ENV = {"BRAIN_DATA_DIR": "/tmp/brain-unit"}


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


def test_a_costly_request_counts_its_cost_and_is_refused_when_it_does_not_fit(client):
    per_hour, plain = _rule(10, tier="tenant"), _rule(100)
    batch = {per_hour.scope: 7}
    first = hit(client, [(per_hour, "t"), (plain, "u")], batch)
    assert first.breached is None and first.remaining == 3  # 7 of 10 taken by one request
    second = hit(client, [(per_hour, "t"), (plain, "u")], batch)
    assert second.breached is per_hour and second.retry_after >= 1  # 7 more do not fit
    assert hit(client, [(per_hour, "t")]).breached is None  # a single one still does (8 of 10)
    assert hit(client, [(plain, "u")]).remaining == 98  # the plain rule counted 1 per admitted request
    # More than the whole limit counts as the whole limit, admissible in an empty window only.
    fresh = _rule(5, tier="tenant")
    assert hit(client, [(fresh, "t")], {fresh.scope: 50}).breached is None
    assert hit(client, [(fresh, "t")]).breached is fresh


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


def test_bad_rate_limit_setting_stops_start_up():
    with pytest.raises(ConfigError, match="BRAIN_RATE_LIMIT_SUBMIT"):
        load_settings({**ENV, "BRAIN_RATE_LIMIT_SUBMIT": "lots"})


def test_global_limit_has_burst_and_sustained_windows():
    s = load_settings({**ENV, "BRAIN_RATE_LIMIT_GLOBAL": "100/second", "BRAIN_RATE_LIMIT_BURST": "200"})
    rules = rules_of(s)
    assert (rules.burst.amount, rules.burst.window_s) == (200, 1)
    assert (rules.sustained.amount, rules.sustained.window_s) == (1000, 10)
    assert rules.burst.scope != rules.sustained.scope


@pytest.mark.parametrize(
    ("proxies", "peer", "xff", "expected"),
    [
        ("", "10.0.0.5", "1.2.3.4", "10.0.0.5"),  # no trusted proxy: header ignored
        ("10.0.0.0/8", "192.0.2.9", "1.2.3.4", "192.0.2.9"),  # peer not trusted: header ignored
        ("10.0.0.0/8", "10.0.0.5", "1.2.3.4", "1.2.3.4"),  # trusted proxy: its client
        ("10.0.0.0/8", "10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.7", "1.2.3.4"),  # spoofed left part skipped
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(proxies, peer, xff, expected):
    app = Flask("t")
    app.config["BRAIN_SETTINGS"] = load_settings({**ENV, "BRAIN_TRUSTED_PROXIES": proxies})
    with app.test_request_context("/api/x", headers={"X-Forwarded-For": xff}, environ_base={"REMOTE_ADDR": peer}):
        assert client_ip() == expected
