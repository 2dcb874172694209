"""Provider quotas shared by every worker: requests and tokens per minute per provider and model, in Redis.

Each limit is a sliding log of the calls in its window, checked and taken by one Lua script on
Redis's clock, so workers on any host share it and never disagree on the time. A call
takes its estimated tokens up front and settles the difference when the provider has
said what it used. A provider's 429 with Retry-After stops the model for everyone for that
long. A mission that finds the quota spent waits: a short wait in the worker (cancellable),
a longer one by going back to the queue until the quota frees (deferred, no attempt used).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from prometheus_client import Counter, Histogram

from brain.agents.context import RunContext
from brain.config import Settings
from brain.config.parsers import _float, _json_object
from brain.config.settings import declare, setting
from brain.errors import ConfigError, RetryableAgentError
from brain.rails.base import Defer
from brain.state import get_redis, script
from brain.tenancy import status as tenant_status
from brain.tenancy import tenant_metrics

QUOTA_FIELDS = {"rpm": int, "tpm": int, "window_s": float}


def _quota_table(name: str, raw: str) -> dict[str, dict[str, float]]:
    table = _json_object(name, raw)
    for model, quota in table.items():
        if not isinstance(quota, dict) or not quota:
            raise ConfigError(f'{name}[{model!r}] must be an object such as {{"rpm": 500, "tpm": 30000}}')
        for key, value in quota.items():
            if key not in QUOTA_FIELDS:
                raise ConfigError(f"{name}[{model!r}] has unknown key {key!r} (known: {', '.join(QUOTA_FIELDS)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 10**12:
                raise ConfigError(f"{name}[{model!r}].{key} must be a number from 0 to 10^12")
        if quota.get("window_s", 60) <= 0:
            raise ConfigError(f"{name}[{model!r}].window_s must be above 0")
    return table


declare(
    "llm",
    llm_quotas=setting(
        "BRAIN_LLM_QUOTAS",
        _quota_table,
        'Provider quotas per model ("*": any other): {model: {"rpm", "tpm", "window_s" (60)}}; 0 or absent = unlimited',
        {},
    ),
    llm_quota_max_wait_s=setting(
        "BRAIN_LLM_QUOTA_MAX_WAIT_S",
        _float(0.0, 3600.0),
        "A mission waits this long in the worker for a spent quota; longer, it is deferred back to the queue",
        2.0,
    ),
)

QUOTA_WAIT = Histogram(
    "brain_llm_quota_wait_seconds",
    "Time llm.chat calls waited for a provider quota, by how (in the worker, or deferred to the queue)",
    ["model", "how"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
PROVIDER_THROTTLED = Counter(
    "brain_llm_provider_throttled_total", "Provider 429 answers that backed a model off for every worker", ["model"]
)

# A sliding log per limit: every call in the last window, scored by its Redis time, so no window
# of that length ever holds more than the limit (a GCRA bucket would let a full burst and then
# the steady rate into one window: twice the limit). Tokens: members "<call id>:<tokens>" and
# their running sum. KEYS: requests, tokens, tokens sum, back-off. ARGV: rpm, tpm, tokens,
# window ms, call id. Returns the milliseconds to wait; 0: admitted and taken from both.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local backoff = redis.call('PTTL', KEYS[4])
if backoff > 0 then return backoff end
local rpm, tpm, cost, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local edge = now - window
local wait = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', edge)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then  -- admitted once the n - rpm + 1 oldest calls have left the window
    local oldest = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    wait = tonumber(oldest[2]) + window - now
  end
end
local sum = 0
if tpm > 0 then
  if cost > tpm then cost = tpm end  -- a call larger than the window's tokens still runs, alone
  sum = tonumber(redis.call('GET', KEYS[3]) or '0')
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', edge)
  for _, member in ipairs(expired) do sum = sum - tonumber(string.match(member, ':(%d+)$')) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', edge) end
  if sum < 0 or redis.call('ZCARD', KEYS[2]) == 0 then sum = 0 end
  redis.call('SET', KEYS[3], sum, 'PX', math.ceil(window))
  if sum + cost > tpm then
    local need, freed = sum + cost - tpm, 0
    local calls = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = 1, #calls, 2 do
      freed = freed + tonumber(string.match(calls[i], ':(%d+)$'))
      if freed >= need then
        local w = tonumber(calls[i + 1]) + window - now
        if w > wait then wait = w end
        break
      end
    end
  end
end
if wait > 0 then return math.ceil(wait) end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
end
if tpm > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[5] .. ':' .. cost)
  redis.call('SET', KEYS[3], sum + cost, 'PX', math.ceil(window))
  redis.call('PEXPIRE', KEYS[2], math.ceil(window))
end
return 0
"""

# The call took ARGV[2] tokens and used ARGV[3]: rewrite its entry (at its own time) and the sum.
# A call whose entry already left the window changes nothing. KEYS: tokens, tokens sum.
_SETTLE = """
local taken = ARGV[1] .. ':' .. ARGV[2]
local at = redis.call('ZSCORE', KEYS[1], taken)
if not at then return 0 end
redis.call('ZREM', KEYS[1], taken)
redis.call('ZADD', KEYS[1], at, ARGV[1] .. ':' .. ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]) - tonumber(ARGV[2]))
return 1
"""

# KEYS: back-off. ARGV: ms. Only ever lengthens the back-off another worker set.
_BACK_OFF = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


@dataclass(frozen=True)
class Quota:
    """The limits of one provider and model, and their Redis keys."""

    provider: str
    model: str
    rpm: int
    tpm: int
    window_s: float
    tenant: str | None = None  # a tenant's own llm_tokens_per_minute, not a provider's quota

    @classmethod
    def of(cls, settings: Settings, model: str) -> Quota:
        table = settings.llm_quotas
        spec: dict[str, Any] = table.get(model) or table.get("*") or {}
        provider = urlsplit(settings.llm_base_url).netloc or settings.llm_base_url
        return cls(provider, model, int(spec.get("rpm", 0)), int(spec.get("tpm", 0)), float(spec.get("window_s", 60)))

    @classmethod
    def of_tenant(cls, settings: Settings, tenant: str) -> Quota | None:
        """The tenant's llm_tokens_per_minute across every model (multi-tenant, when it has one)."""
        tpm = tenant_status.limit(settings, tenant, "llm_tokens_per_minute")
        if not tpm:
            return None
        # "tenant" as the model: the metrics' label stays one value whatever the number of tenants.
        return cls(f"tenant:{tenant}", "tenant", 0, int(tpm), 60.0, tenant=tenant)

    @property
    def what(self) -> str:
        return "the tenant's llm_tokens_per_minute" if self.tenant else f"provider quota of {self.model}"

    @property
    def limited(self) -> bool:
        return self.rpm > 0 or self.tpm > 0

    def key(self, part: str) -> str:
        # One hash tag per model: a script's keys stay in one slot of a Redis Cluster.
        return f"brain:quota:{{{self.provider}:{self.model}}}:{part}"


def take(client: redis.Redis, quota: Quota, tokens: int, call_id: str) -> int:
    """Take one request and `tokens` from the quota for call `call_id` now (0), or the ms until it could."""
    keys = [quota.key("requests"), quota.key("tokens"), quota.key("tokens_sum"), quota.key("backoff")]
    tokens = min(max(0, tokens), quota.tpm) if quota.tpm else 0
    return int(script(client, _TAKE)(keys=keys, args=[quota.rpm, quota.tpm, tokens, quota.window_s * 1000, call_id]))


def settle(client: redis.Redis, quota: Quota, call_id: str, taken: int, used: int) -> None:
    """Call `call_id` used `used` of the `taken` estimated tokens: correct its entry in the window."""
    taken = min(max(0, taken), quota.tpm) if quota.tpm else 0
    if quota.tpm and used != taken:
        script(client, _SETTLE)(keys=[quota.key("tokens"), quota.key("tokens_sum")], args=[call_id, taken, used])


def back_off(client: redis.Redis, quota: Quota, seconds: float) -> None:
    """No worker calls this model for `seconds` (the provider's Retry-After)."""
    script(client, _BACK_OFF)(keys=[quota.key("backoff")], args=[max(1, int(seconds * 1000))])
    PROVIDER_THROTTLED.labels(quota.model).inc()


def acquire(ctx: RunContext, settings: Settings, quota: Quota, tokens: int) -> str:
    """The call's id, once the call may go out; raises Defer when the wait is longer than the worker should hold it.

    Waiting in the worker counts against the mission's time limit, so a wait longer than
    BRAIN_LLM_QUOTA_MAX_WAIT_S, or than the time the mission has left, is spent queued instead.
    Every call asks Redis, limited or not: another worker's 429 may have backed the model off.
    """
    client = get_redis(settings)
    call_id = uuid.uuid4().hex
    started = time.monotonic()
    while True:
        try:
            wait = take(client, quota, tokens, call_id) / 1000
        except redis.RedisError as exc:
            if quota.limited:
                raise RetryableAgentError(f"{quota.what} cannot be checked: {exc}") from None
            return call_id  # nothing to enforce but a back-off nobody can read now
        waited = time.monotonic() - started
        if wait <= 0:
            if waited > 0.001:
                QUOTA_WAIT.labels(quota.model, "worker").observe(waited)
            return call_id
        if waited + wait > settings.llm_quota_max_wait_s or wait >= ctx.remaining():
            # Jittered, so the missions waiting for one refill do not all come back in the same instant.
            wait += random.uniform(0, min(wait, 1.0))
            QUOTA_WAIT.labels(quota.model, "deferred").observe(waited + wait)
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            if quota.tenant:
                tenant_metrics.count(settings, quota.tenant, deferred="llm_tokens_per_minute")
            raise Defer(until, f"{quota.what} spent")
        ctx.sleep(wait)  # raises MissionCancelled if the mission is cancelled meanwhile


@contextmanager
def metered(ctx: RunContext, settings: Settings, quota: Quota, tokens: int) -> Iterator[None]:
    """Around one provider call: take the quota first (acquire), settle its tokens after, however it ended.

    The tokens used are what the call charged to the mission (ctx.usage), so a stream cut off
    at the budget counts what was received.
    """
    call_id = acquire(ctx, settings, quota, tokens)
    before = ctx.usage.tokens
    try:
        yield
    finally:
        try:
            settle(get_redis(settings), quota, call_id, tokens, ctx.usage.tokens - before)
        except redis.RedisError:
            pass  # the bucket refills by itself; only this correction is lost


def throttled(settings: Settings, quota: Quota, retry_after_s: float) -> None:
    """The provider answered 429: back the model off for every worker."""
    try:
        back_off(get_redis(settings), quota, retry_after_s)
    except redis.RedisError:
        pass  # this mission still waits its Retry-After: acquire() cannot admit it without Redis either
