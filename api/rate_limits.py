"""Three-tier rate limits: every tier of a request checked and counted in one Redis round trip.

Tier 1 `global`: every /api request per client IP (a burst cap per window plus a sustained
rate over ten windows). Tier 2 `endpoint`: per caller on costly endpoints (mission submission).
Tier 3 `tenant` and `user`: every /api request of an authenticated tenant / user; with
multi-tenancy, also the tenant's own `api_requests_per_s` (its plan's, or its override), and
on submissions its `submissions_per_hour` (a batch counts each of its missions).
The client IP comes from X-Forwarded-For only when the peer is in BRAIN_TRUSTED_PROXIES.
Counters live in the state Redis, so every API process shares them.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from flask import Flask, Response, current_app, g, jsonify, request
from limits import parse_many

from api.app_settings import app_settings
from api.auth import current_identity
from api.errors import error_body
from brain import metrics
from brain.config import Settings
from brain.errors import ConfigError
from brain.state import get_redis, script
from brain.tenancy import status as tenant_status

log = logging.getLogger("brain.api.rate_limits")

# Endpoint (blueprint.View:METHOD) → the setting holding its tier-2 limit.
ENDPOINT_LIMITS: dict[str, str] = {
    "missions.Missions:POST": "rate_limit_submit",
    "missions.MissionEnqueue:POST": "rate_limit_submit",
}
# Every endpoint that creates missions: what a tenant's submissions_per_hour counts.
BATCH = "missions.MissionBatch:POST"
SUBMISSIONS = frozenset({"missions.Missions:POST", "missions.MissionEnqueue:POST", BATCH})
SUBMISSIONS_SCOPE = "tenant-submissions"


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip() -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For behind trusted proxies."""
    remote = request.remote_addr or "unknown"
    networks = _networks(app_settings().trusted_proxies)
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else remote


@dataclass(frozen=True)
class Rule:
    """One limit: `amount` requests per `window_s` seconds, keyed per client, caller or tenant."""

    tier: str  # the metric label: global, endpoint, tenant or user
    scope: str  # names the counter; two rules never share one
    amount: int
    window_s: int
    message: str


@dataclass(frozen=True)
class Rules:
    """Every rule of a settings object, parsed once."""

    burst: Rule
    sustained: Rule
    endpoint: dict[str, Rule]  # setting name -> rule
    tenant: Rule
    user: Rule


def _rule(tier: str, scope: str, rate: str, message: str) -> Rule:
    item = parse_many(rate)[0]
    return Rule(tier, scope, item.amount, item.get_expiry(), message)


def rules_of(settings: Settings) -> Rules:
    """`100/second` with burst 200: at most 200 in any second and 1000 in any ten seconds."""
    item = parse_many(settings.rate_limit_global)[0]
    window = item.get_expiry()
    client = "too many requests from this client"
    return Rules(
        burst=Rule("global", "global-burst", settings.rate_limit_burst, window, client),
        sustained=Rule("global", "global", item.amount * 10, window * 10, client),
        endpoint={
            setting: _rule(
                "endpoint",
                f"endpoint-{setting}",
                getattr(settings, setting),
                f"too many requests to this endpoint ({setting})",
            )
            for setting in sorted(set(ENDPOINT_LIMITS.values()))
        },
        tenant=_rule("tenant", "tenant", settings.rate_limit_tenant, "too many requests from this tenant"),
        user=_rule("user", "user", settings.rate_limit_user, "too many requests from this user"),
    )


def applicable(rules: Rules) -> list[tuple[Rule, str]]:
    """The rules this request counts against, each with the key it counts under."""
    ip = client_ip()
    found = [(rules.burst, ip), (rules.sustained, ip)]
    identity = current_identity()
    caller = f"user:{identity.tenant}/{identity.sub}" if identity else f"ip:{ip}"
    setting = ENDPOINT_LIMITS.get(f"{request.endpoint}:{request.method}")
    if setting:
        found.append((rules.endpoint[setting], caller))
    if identity is not None:
        found.append((rules.tenant, f"tenant:{identity.tenant}"))
        found.append((rules.user, caller))
        per_second = tenant_status.limit(app_settings(), identity.tenant, "api_requests_per_s")
        if per_second:  # multi-tenant: the tenant's own limit (plan or override), on top of the tiers
            found.append((_tenant_plan_rule(int(per_second)), f"tenant:{identity.tenant}"))
        if f"{request.endpoint}:{request.method}" in SUBMISSIONS:
            per_hour = tenant_status.limit(app_settings(), identity.tenant, "submissions_per_hour")
            if per_hour:
                found.append((_tenant_submissions_rule(int(per_hour)), f"tenant:{identity.tenant}"))
    return found


@lru_cache(maxsize=256)
def _tenant_plan_rule(per_second: int) -> Rule:
    return Rule("tenant", "tenant-plan", per_second, 1, "too many requests from this tenant (its api_requests_per_s)")


@lru_cache(maxsize=256)
def _tenant_submissions_rule(per_hour: int) -> Rule:
    return Rule(
        "tenant",
        SUBMISSIONS_SCOPE,
        per_hour,
        3600,
        "too many missions submitted by this tenant (its submissions_per_hour)",
    )


def submission_costs() -> dict[str, int]:
    """A batch counts each of its missions against submissions_per_hour (its body is parsed once, cached)."""
    if f"{request.endpoint}:{request.method}" != BATCH:
        return {}
    body = request.get_json(silent=True)
    items = body.get("missions") if isinstance(body, dict) else None
    return {SUBMISSIONS_SCOPE: max(1, len(items))} if isinstance(items, list) else {}


# A sliding-window counter per rule: the estimate is this window's count plus the previous
# window's, weighted by how much of it still overlaps the sliding window. All rules are
# checked first and counted only if none is exceeded, so a refused request costs nothing.
# A request costs 1 against most rules; a batch submission costs its missions against the
# tenant's submissions_per_hour. KEYS: one base key per rule. ARGV: amount, window_ms, cost per rule.
# Returns {breached rule (0 = none), index of the rule with least room, remaining, reset_ms, retry_ms}.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current, least, least_room, least_reset = {}, 1, nil, 0
for i = 1, #KEYS do
  local amount, win, cost = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local w = math.floor(now / win)
  local elapsed = now - w * win
  local cur = tonumber(redis.call('GET', KEYS[i] .. ':' .. w) or '0')
  local prev = tonumber(redis.call('GET', KEYS[i] .. ':' .. (w - 1)) or '0')
  local weight = prev * (win - elapsed) / win
  if cur + weight + cost > amount then
    local retry
    if cur + cost <= amount and prev > 0 then
      retry = win * (1 - (amount - cost - cur) / prev) - elapsed
    else
      retry = (win - elapsed) + win * (1 - (amount - cost) / math.max(cur, 1))
    end
    return {i, i, 0, win - elapsed, math.max(math.ceil(retry), 1)}
  end
  current[i] = KEYS[i] .. ':' .. w
  local room = math.floor(amount - cur - weight - cost)
  if least_room == nil or room < least_room then
    least, least_room, least_reset = i, room, win - elapsed
  end
end
for i = 1, #KEYS do
  redis.call('INCRBY', current[i], ARGV[3 * i])
  redis.call('PEXPIRE', current[i], 2 * tonumber(ARGV[3 * i - 1]))
end
return {0, least, least_room, least_reset, 0}
"""
KEY_PREFIX = "brain-rl:"


@dataclass(frozen=True)
class Verdict:
    breached: Rule | None
    limit: int  # the rule with the least room left: what the X-RateLimit-* headers describe
    remaining: int
    reset_at: int  # epoch seconds
    retry_after: int  # seconds; only for a breach


def hit(client: redis.Redis, found: list[tuple[Rule, str]], costs: dict[str, int] | None = None) -> Verdict:
    """Check and count one request against every rule in `found`, atomically (`costs`: by rule scope, else 1)."""
    # The limit is part of the key (as in Flask-Limiter): APIs configured with different limits
    # on one Redis, or a changed setting, never share a counter.
    keys = [f"{KEY_PREFIX}{rule.scope}:{rule.amount}/{rule.window_s}:{key}" for rule, key in found]
    # A cost above the whole limit counts as the whole limit: it must be admissible once the window is empty.
    args = [
        n
        for rule, _ in found
        for n in (rule.amount, rule.window_s * 1000, min((costs or {}).get(rule.scope, 1), rule.amount))
    ]
    breached, least, remaining, reset_ms, retry_ms = script(client, _HIT)(keys=keys, args=args)
    rule = found[least - 1][0]
    return Verdict(
        breached=found[breached - 1][0] if breached else None,
        limit=rule.amount,
        remaining=max(int(remaining), 0),
        reset_at=math.ceil(time.time() + int(reset_ms) / 1000),
        retry_after=math.ceil(int(retry_ms) / 1000),
    )


def _limit():
    if not request.path.startswith("/api/") or request.method == "OPTIONS":
        return None
    settings = app_settings()
    try:
        found = applicable(current_app.extensions["brain_rate_rules"])
        verdict = hit(get_redis(settings), found, submission_costs())
    except redis.RedisError as exc:
        # A Redis outage must not turn every request into an error: log it and let the request in.
        log.warning("rate limits not checked, Redis is unavailable: %s", exc)
        return None
    g.rate_limit = verdict
    if verdict.breached is None:
        return None
    metrics.RATE_LIMIT_EXCEEDED.labels(verdict.breached.tier).inc()
    message = f"{verdict.breached.message}: {verdict.breached.amount} per {verdict.breached.window_s} s"
    return jsonify(error_body(429, message)), 429, {"Retry-After": str(verdict.retry_after)}


def _headers(response: Response) -> Response:
    verdict: Verdict | None = g.get("rate_limit")
    if verdict is not None:
        response.headers["X-RateLimit-Limit"] = str(verdict.limit)
        response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
        response.headers["X-RateLimit-Reset"] = str(verdict.reset_at)
    return response


def register(app: Flask) -> None:
    """Call after the authentication hook and before the authorization hook."""
    settings = app.config["BRAIN_SETTINGS"]
    try:
        _networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"BRAIN_TRUSTED_PROXIES: {exc}") from None
    if not settings.rate_limits_enabled or "security" not in settings.modules:
        return
    app.extensions["brain_rate_rules"] = rules_of(settings)
    app.before_request(_limit)
    app.after_request(_headers)
