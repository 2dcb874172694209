"""The budget rail and its Redis ledger: reserve before the run, charge as the agent reports usage, settle at the end.

Every scope (the mission's own budget, the tenant's day and month) is checked and changed by
one Lua script per step, so parallel missions on any number of workers never spend past a limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
import redis

from brain.config import Settings
from brain.config.parsers import _bool, _float, _int
from brain.config.settings import declare, setting
from brain.errors import OverBudget
from brain.rails import metrics as m
from brain.rails.base import Outcome, Rail, RunState
from brain.rails.rollout import ENFORCE, OFF
from brain.state import script
from brain.tenancy import status as tenant_status
from brain.time_limits import longest_hard_limit

declare(
    "neurorail",
    neurorail_enable_budget_enforcement=setting(
        "NEURORAIL_ENABLE_BUDGET_ENFORCEMENT",
        _bool,
        "Enforce tenant budgets in phase 2 (an explicit mission budget is always enforced)",
        True,
    ),
    neurorail_budget_estimate_tokens=setting(
        "NEURORAIL_BUDGET_ESTIMATE_TOKENS",
        _int(0, 10**12),
        "Tokens reserved up front for a mission without its own max_tokens",
        1000,
    ),
    neurorail_budget_estimate_cost_usd=setting(
        "NEURORAIL_BUDGET_ESTIMATE_COST_USD",
        _float(0.0, 1e9),
        "Cost reserved up front for a mission without its own max_cost_usd",
        0.01,
    ),
    neurorail_tenant_tokens_per_day=setting(
        "NEURORAIL_TENANT_TOKENS_PER_DAY", _int(0, 10**15), "Tokens per tenant per UTC day (0 = unlimited)", 0
    ),
    neurorail_tenant_cost_usd_per_day=setting(
        "NEURORAIL_TENANT_COST_USD_PER_DAY", _float(0.0, 1e12), "USD per tenant per UTC day (0 = unlimited)", 0.0
    ),
    neurorail_tenant_tokens_per_month=setting(
        "NEURORAIL_TENANT_TOKENS_PER_MONTH", _int(0, 10**15), "Tokens per tenant per UTC month (0 = unlimited)", 0
    ),
    neurorail_tenant_cost_usd_per_month=setting(
        "NEURORAIL_TENANT_COST_USD_PER_MONTH", _float(0.0, 1e12), "USD per tenant per UTC month (0 = unlimited)", 0.0
    ),
)

PREFIX = "nr:budget:"

# Scope i (1-based) uses KEYS[i+1] and ARGV[base+3i-2 .. base+3i]: limit_tokens, limit_cost, enforce.
_COMMON = """
local n = tonumber(ARGV[1])
local function over(i, add_t, add_c, base)
  local k = KEYS[i + 1]
  local lt = tonumber(ARGV[base + 3 * i - 2]); local lc = tonumber(ARGV[base + 3 * i - 1])
  local st = tonumber(redis.call('HGET', k, 'spent_tokens') or '0')
  local rt = tonumber(redis.call('HGET', k, 'reserved_tokens') or '0')
  local sc = tonumber(redis.call('HGET', k, 'spent_cost') or '0')
  local rc = tonumber(redis.call('HGET', k, 'reserved_cost') or '0')
  if lt > 0 and st + rt + add_t > lt then return true end
  if lc > 0 and sc + rc + add_c > lc + 1e-9 then return true end
  return false
end
local function check(add_t, add_c, base)
  local observed = {}
  for i = 1, n do
    if (add_t > 0 or add_c > 0) and over(i, add_t, add_c, base) then
      if ARGV[base + 3 * i] == '1' then return i, observed end
      table.insert(observed, tostring(i))
    end
  end
  return 0, observed
end
local function grow(add_t, add_c, ttl)
  for i = 1, n do
    redis.call('HINCRBY', KEYS[i + 1], 'reserved_tokens', add_t)
    redis.call('HINCRBYFLOAT', KEYS[i + 1], 'reserved_cost', add_c)
    redis.call('EXPIRE', KEYS[i + 1], ttl)
  end
end
"""

# ARGV: n, est_tokens, est_cost, ttl, scopes... ; KEYS[1] = the run's hash
_RESERVE = (
    _COMMON
    + """
local est_t = tonumber(ARGV[2]); local est_c = tonumber(ARGV[3]); local ttl = tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ''} end
local denied, observed = check(est_t, est_c, 4)
if denied > 0 then return {denied, ''} end
grow(est_t, est_c, ttl)
redis.call('HSET', KEYS[1], 'rt', est_t, 'rc', est_c, 'ut', 0, 'uc', 0)
redis.call('EXPIRE', KEYS[1], ttl)
return {0, table.concat(observed, ',')}
"""
)

# ARGV: n, tokens, cost, ttl, scopes...
_CHARGE = (
    _COMMON
    + """
local d_t = tonumber(ARGV[2]); local d_c = tonumber(ARGV[3]); local ttl = tonumber(ARGV[4])
local rt = tonumber(redis.call('HGET', KEYS[1], 'rt') or '0')
local rc = tonumber(redis.call('HGET', KEYS[1], 'rc') or '0')
local ut = tonumber(redis.call('HGET', KEYS[1], 'ut') or '0') + d_t
local uc = tonumber(redis.call('HGET', KEYS[1], 'uc') or '0') + d_c
local extra_t = math.max(0, ut - rt); local extra_c = math.max(0, uc - rc)
local denied, observed = check(extra_t, extra_c, 4)
if denied > 0 then return {denied, ''} end
if extra_t > 0 or extra_c > 0 then
  grow(extra_t, extra_c, ttl)
  redis.call('HSET', KEYS[1], 'rt', rt + extra_t, 'rc', rc + extra_c)
end
redis.call('HSET', KEYS[1], 'ut', ut, 'uc', uc)
return {0, table.concat(observed, ',')}
"""
)

# ARGV: n ; moves the run's reservation to actual spend in every scope, once.
_SETTLE = """
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local rt = tonumber(redis.call('HGET', KEYS[1], 'rt')); local rc = tonumber(redis.call('HGET', KEYS[1], 'rc'))
local ut = tonumber(redis.call('HGET', KEYS[1], 'ut')); local uc = tonumber(redis.call('HGET', KEYS[1], 'uc'))
for i = 1, n do
  local k = KEYS[i + 1]
  redis.call('HINCRBY', k, 'reserved_tokens', -rt)
  redis.call('HINCRBYFLOAT', k, 'reserved_cost', -rc)
  redis.call('HINCRBY', k, 'spent_tokens', ut)
  redis.call('HINCRBYFLOAT', k, 'spent_cost', uc)
end
redis.call('DEL', KEYS[1])
return 1
"""


@dataclass(frozen=True)
class Scope:
    label: str  # mission | tenant_day | tenant_month
    key: str
    limit_tokens: int
    limit_cost: float
    enforce: bool
    ttl_s: int


def period_ids(now: dt.datetime | None = None) -> dict[str, str]:
    now = now or dt.datetime.now(dt.UTC)
    return {"day": now.strftime("%Y-%m-%d"), "month": now.strftime("%Y-%m")}


def tenant_limits(settings: Settings, tenant: str) -> dict[str, tuple[int, float]]:
    """(tokens, cost) per period for a tenant: its own (plan and overrides) in multi-tenant mode, else the settings."""
    s = settings
    own = {
        period: (
            tenant_status.limit(s, tenant, f"tokens_per_{period}"),
            tenant_status.limit(s, tenant, f"cost_usd_per_{period}"),
        )
        for period in ("day", "month")
    }
    return {
        "day": (
            int(own["day"][0] if own["day"][0] is not None else s.neurorail_tenant_tokens_per_day),
            float(own["day"][1] if own["day"][1] is not None else s.neurorail_tenant_cost_usd_per_day),
        ),
        "month": (
            int(own["month"][0] if own["month"][0] is not None else s.neurorail_tenant_tokens_per_month),
            float(own["month"][1] if own["month"][1] is not None else s.neurorail_tenant_cost_usd_per_month),
        ),
    }


_PERIOD_TTL_S = {"day": 3 * 86400, "month": 33 * 86400}


def tenant_scopes(settings: Settings, tenant: str, enforce: bool) -> list[Scope]:
    limits = tenant_limits(settings, tenant)
    if not any(tokens or cost for tokens, cost in limits.values()):
        return []  # no tenant limits (the default): no clock formatting per mission
    ids = period_ids()
    return [
        Scope(
            f"tenant_{period}",
            f"{PREFIX}tenant:{tenant}:{period}:{ids[period]}",
            tokens,
            cost,
            enforce,
            _PERIOD_TTL_S[period],
        )
        for period, (tokens, cost) in limits.items()
        if tokens or cost
    ]


def _args(scopes: list[Scope]) -> list:
    flat: list = []
    for sc in scopes:
        flat += [sc.limit_tokens or 0, sc.limit_cost or 0, "1" if sc.enforce else "0"]
    return flat


def _run_key(mission_id: str) -> str:
    return f"{PREFIX}run:{mission_id}"


def _result(scopes: list[Scope], raw: list) -> tuple[Scope | None, list[Scope]]:
    denied = int(raw[0])
    observed_raw = raw[1].decode() if isinstance(raw[1], bytes) else raw[1]
    observed = [scopes[int(i) - 1] for i in observed_raw.split(",") if i]
    return (scopes[denied - 1] if denied else None), observed


def reserve(
    client: redis.Redis, mission_id: str, scopes: list[Scope], tokens: int, cost: float
) -> tuple[Scope | None, list[Scope]]:
    """Reserve the estimate in every scope at once; returns (denying scope, observed violations)."""
    ttl = max(sc.ttl_s for sc in scopes)
    raw = script(client, _RESERVE)(
        keys=[_run_key(mission_id), *[sc.key for sc in scopes]], args=[len(scopes), tokens, cost, ttl, *_args(scopes)]
    )
    return _result(scopes, raw)


def charge(
    client: redis.Redis, mission_id: str, scopes: list[Scope], tokens: int, cost: float
) -> tuple[Scope | None, list[Scope]]:
    """Record usage; growing past the reservation must fit every enforced limit or it is refused."""
    ttl = max(sc.ttl_s for sc in scopes)
    raw = script(client, _CHARGE)(
        keys=[_run_key(mission_id), *[sc.key for sc in scopes]], args=[len(scopes), tokens, cost, ttl, *_args(scopes)]
    )
    return _result(scopes, raw)


def settle(client: redis.Redis, mission_id: str, scopes: list[Scope]) -> None:
    script(client, _SETTLE)(keys=[_run_key(mission_id), *[sc.key for sc in scopes]], args=[len(scopes)])


def overview(
    client: redis.Redis, settings: Settings, tenants: list[str] | None = None, discover: bool = True
) -> list[dict]:
    """Limit, spent, reserved and remaining per tenant scope and current period.

    `tenants` are always listed; with `discover`, so is every tenant that has spent or reserved
    (and `default`).
    """
    found = set(tenants or [])
    if discover:
        found.add("default")
        for key in client.scan_iter(match=f"{PREFIX}tenant:*", count=500):
            found.add((key.decode() if isinstance(key, bytes) else key).split(":")[3])
    ids = period_ids()
    out = []
    for tenant in sorted(found):
        for period, (lt, lc) in tenant_limits(settings, tenant).items():
            raw = client.hgetall(f"{PREFIX}tenant:{tenant}:{period}:{ids[period]}")
            data = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
            spent = {"tokens": int(data.get("spent_tokens", 0)), "cost_usd": round(data.get("spent_cost", 0), 6)}
            reserved = {
                "tokens": int(data.get("reserved_tokens", 0)),
                "cost_usd": round(data.get("reserved_cost", 0), 6),
            }
            out.append(
                {
                    "scope": f"tenant:{tenant}",
                    "period": period,
                    "period_id": ids[period],
                    "limit": {"tokens": lt or None, "cost_usd": lc or None},
                    "spent": spent,
                    "reserved": reserved,
                    "remaining": {
                        "tokens": max(0, lt - spent["tokens"] - reserved["tokens"]) if lt else None,
                        "cost_usd": round(max(0.0, lc - spent["cost_usd"] - reserved["cost_usd"]), 6) if lc else None,
                    },
                }
            )
    return out


# ---- the rail ---------------------------------------------------------------------------
class BudgetSchema(ma.Schema):
    max_tokens = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=10**12), allow_none=True)
    max_cost_usd = ma.fields.Float(validate=ma.validate.Range(min=0, max=1e9, min_inclusive=False), allow_none=True)


class BudgetRail(Rail):
    name = "budget"
    flag = "neurorail_enable_budget_enforcement"
    options = {
        "budget": ma.fields.Nested(
            BudgetSchema,
            allow_none=True,
            metadata={"description": "Per-mission caps; a charge that would cross one stops the mission (NR-E002)"},
        ),
    }

    def scopes(self, state: RunState) -> list[Scope]:
        mission = state.mission
        out = []
        own = state.option("budget") or {}
        if own.get("max_tokens") or own.get("max_cost_usd"):
            # The submitter asked for this cap: enforced in every phase.
            ttl = longest_hard_limit(state.settings) + 86400
            out.append(
                Scope(
                    "mission",
                    f"{PREFIX}mission:{mission.id}",
                    own.get("max_tokens") or 0,
                    own.get("max_cost_usd") or 0.0,
                    True,
                    ttl,
                )
            )
        mode = state.enforcement.mode(self)
        if mode != OFF:
            out += tenant_scopes(state.settings, mission.tenant, enforce=mode == ENFORCE)
        return out

    def before_run(self, state: RunState) -> None:
        scopes = self.scopes(state)
        if not scopes:
            return
        own = state.option("budget") or {}
        s = state.settings
        tokens = own.get("max_tokens") or s.neurorail_budget_estimate_tokens
        cost = own.get("max_cost_usd") or s.neurorail_budget_estimate_cost_usd
        denied, observed = reserve(state.redis, str(state.mission.id), scopes, tokens, cost)
        self._observe(state, observed)
        if denied is not None:
            m.BUDGET_VIOLATIONS.labels(denied.label).inc()
            raise OverBudget(f"{denied.label} budget has no room for this mission's estimate")
        state.notes["budget"] = scopes
        state.events.append(
            ("budget.reserved", {"tokens": tokens, "cost_usd": cost, "scopes": [sc.label for sc in scopes]})
        )
        if state.ctx is not None:
            state.ctx.on_charge = lambda t, c: self._charge(state, t, c)
            state.ctx.token_cap = own.get("max_tokens")

    def _charge(self, state: RunState, tokens: int, cost: float) -> None:
        scopes = state.notes["budget"]
        denied, observed = charge(state.redis, str(state.mission.id), scopes, tokens, cost)
        self._observe(state, observed)
        if denied is not None:
            m.BUDGET_VIOLATIONS.labels(denied.label).inc()
            state.events.append(("budget.violation", {"scope": denied.label, "tokens": tokens, "cost_usd": cost}))
            raise OverBudget(f"charge of {tokens} tokens / ${cost:.4f} would cross the {denied.label} budget")

    def _observe(self, state: RunState, observed: list[Scope]) -> None:
        for sc in observed:
            m.BUDGET_VIOLATIONS.labels(sc.label).inc()
            state.observe(OverBudget, self.name)

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        self._settle(state)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        self._settle(state)

    @staticmethod
    def _settle(state: RunState) -> None:
        scopes = state.notes.pop("budget", None)
        if scopes:
            settle(state.redis, str(state.mission.id), scopes)
