"""The reflex rail and its breakers in Redis: a circuit per agent (or tenant+agent), shared by every worker.

Each transition is one Lua script, so racing workers agree on the state and on the single
half-open probe.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import redis

from brain.config.parsers import _bool, _choice, _int
from brain.config.settings import declare, setting
from brain.errors import AgentFailed, CircuitOpen, TimedOut
from brain.rails import metrics as m
from brain.rails.base import Defer, Outcome, Rail, RunState
from brain.rails.rollout import ENFORCE, OFF
from brain.state import script
from brain.time_limits import longest_hard_limit

declare(
    "neurorail",
    neurorail_enable_reflex_system=setting("NEURORAIL_ENABLE_REFLEX_SYSTEM", _bool, "Circuit breakers on/off", True),
    neurorail_reflex_failures=setting(
        "NEURORAIL_REFLEX_FAILURES", _int(1, 1000), "Failures inside the window that open a circuit", 3
    ),
    neurorail_reflex_window_s=setting(
        "NEURORAIL_REFLEX_WINDOW_S", _int(1, 86400), "Failure-counting window of a circuit breaker", 300
    ),
    neurorail_reflex_cooldown_s=setting(
        "NEURORAIL_REFLEX_COOLDOWN_S", _int(1, 86400), "How long an open circuit stays open before one probe", 300
    ),
    neurorail_reflex_scope=setting(
        "NEURORAIL_REFLEX_SCOPE",
        _choice("agent", "tenant_agent"),
        "One breaker per agent, or per tenant and agent",
        "agent",
    ),
    neurorail_reflex_on_open=setting(
        "NEURORAIL_REFLEX_ON_OPEN",
        _choice("defer", "fail"),
        "While open: defer missions to the end of the cooldown, or fail them with NR-E003",
        "defer",
    ),
)

PREFIX = "nr:reflex:"
STATE_CODES = {"closed": 0, "half_open": 1, "open": 2}

# KEYS: state hash, failures zset. ARGV: now, mission_id, probe_stale_s
# Returns {verdict, open_until, transition}: verdict allow|probe|deny.
_CHECK = """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
if st == 'closed' then return {'allow', '0', ''} end
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if st == 'open' then
  if now < open_until then return {'deny', tostring(open_until), ''} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe', ARGV[2], 'probe_at', ARGV[1])
  return {'probe', '0', 'half_open'}
end
-- half_open: exactly one probe at a time
local probe = redis.call('HGET', KEYS[1], 'probe') or ''
local probe_at = tonumber(redis.call('HGET', KEYS[1], 'probe_at') or '0')
if probe == ARGV[2] then return {'probe', '0', ''} end
if probe == '' or now - probe_at > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'probe', ARGV[2], 'probe_at', ARGV[1])
  return {'probe', '0', ''}
end
return {'deny', tostring(now + 5), ''}
"""

# ARGV: now, mission_id, kind (failure|success|neutral), threshold, window_s, cooldown_s
# Returns the transition: opened|closed|reopened|''.
_RECORD = """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
local kind = ARGV[3]
local is_probe = st == 'half_open' and redis.call('HGET', KEYS[1], 'probe') == ARGV[2]
if is_probe then
  if kind == 'success' then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'state', 'closed', 'probe', '', 'open_until', '0')
    return 'closed'
  elseif kind == 'failure' then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'state', 'open', 'probe', '', 'open_until', tostring(now + tonumber(ARGV[6])))
    return 'reopened'
  else
    redis.call('HSET', KEYS[1], 'probe', '')
    return ''
  end
end
if kind ~= 'failure' or st ~= 'closed' then return '' end
redis.call('ZADD', KEYS[2], now, ARGV[2] .. ':' .. tostring(now))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[5])) + 60)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'probe', '', 'open_until', tostring(now + tonumber(ARGV[6])),
             'opened_at', tostring(now))
  redis.call('SADD', KEYS[3], KEYS[1])
  return 'opened'
end
redis.call('SADD', KEYS[3], KEYS[1])
return ''
"""

INDEX_KEY = PREFIX + "index"


def _keys(name: str) -> list[str]:
    return [PREFIX + name, PREFIX + name + ":failures", INDEX_KEY]


@dataclass
class Verdict:
    verdict: str  # allow | probe | deny
    open_until: float
    transition: str


def check(client: redis.Redis, name: str, mission_id: str, probe_stale_s: float) -> Verdict:
    verdict, open_until, transition = script(client, _CHECK)(
        keys=_keys(name)[:2], args=[time.time(), mission_id, probe_stale_s]
    )
    return Verdict(_s(verdict), float(open_until), _s(transition))


def record(
    client: redis.Redis, name: str, mission_id: str, kind: str, threshold: int, window_s: float, cooldown_s: float
) -> str:
    return _s(
        script(client, _RECORD)(keys=_keys(name), args=[time.time(), mission_id, kind, threshold, window_s, cooldown_s])
    )


def reset(client: redis.Redis, name: str) -> bool:
    """Close a known breaker and forget its failures; False (nothing written) for an unknown name."""
    keys = _keys(name)
    # Only an indexed state hash is a breaker: "x:failures" or "index" name other keys, not breakers.
    if not client.sismember(INDEX_KEY, keys[0]):
        return False
    pipe = client.pipeline()
    pipe.hset(keys[0], mapping={"state": "closed", "probe": "", "open_until": "0"})
    pipe.delete(keys[1])
    pipe.sadd(INDEX_KEY, keys[0])
    pipe.execute()
    return True


def list_breakers(client: redis.Redis, window_s: float) -> list[dict]:
    now = time.time()
    out = []
    for key in sorted(_s(k) for k in client.smembers(INDEX_KEY)):
        name = key[len(PREFIX) :]
        try:
            data = {_s(k): _s(v) for k, v in client.hgetall(key).items()}
            failures = client.zcount(key + ":failures", now - window_s, "+inf")
        except redis.ResponseError:  # not a breaker's keys (an index entry written before names were checked)
            continue
        open_until = float(data.get("open_until") or 0)
        out.append(
            {
                "name": name,
                "state": data.get("state", "closed"),
                "failures_in_window": failures,
                "open_until": open_until if data.get("state") == "open" else None,
                "probe_mission_id": data.get("probe") or None,
            }
        )
    return out


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---- the rail ---------------------------------------------------------------------------
log = logging.getLogger("brain.neurorail.reflex")

FAILURES = (AgentFailed, TimedOut)  # the agent's health; over budget, cancelled, expired are not


def breaker_name(state: RunState) -> str:
    mission = state.mission
    if state.settings.neurorail_reflex_scope == "tenant_agent":
        return f"{mission.tenant}:{mission.agent}"
    return mission.agent


def outcome_kind(outcome: Outcome) -> str:
    if outcome.status == "succeeded":
        return "success"
    if any(failure.matches(outcome.error) for failure in FAILURES):
        return "failure"
    return "neutral"  # over budget, cancelled, expired: not the agent's health


class ReflexRail(Rail):
    name = "reflex"
    flag = "neurorail_enable_reflex_system"
    flag_switches_off = True  # the breakers are switched off entirely

    def before_run(self, state: RunState) -> None:
        mode = state.enforcement.mode(self)
        if mode == OFF:
            return
        s = state.settings
        name = breaker_name(state)
        # A probe whose worker died is taken over after its hard limit has surely passed.
        verdict = check(state.redis, name, str(state.mission.id), longest_hard_limit(s))
        state.notes["reflex"] = {"name": name, "verdict": verdict.verdict}
        if verdict.transition:
            self._transition(state, name, verdict.transition)
        if verdict.verdict == "probe":
            m.REFLEX_ACTIONS.labels("probe").inc()
            state.events.append(("reflex.probe", {"breaker": name}))
        if verdict.verdict != "deny":
            return
        if mode != ENFORCE:
            state.observe(CircuitOpen, self.name)
            return
        until = dt.datetime.fromtimestamp(verdict.open_until, dt.UTC)
        if s.neurorail_reflex_on_open == "fail":
            m.REFLEX_ACTIONS.labels("failed_fast").inc()
            raise CircuitOpen(f"circuit {name} is open until {until.isoformat()}")
        m.REFLEX_ACTIONS.labels("deferred").inc()
        raise Defer(until, f"circuit {name} is open")

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        kind = outcome_kind(outcome)
        note = state.notes.get("reflex")
        if kind == "success" and note and note["verdict"] == "allow":
            return  # a success on a closed circuit changes nothing: save the round trip
        self._record(state, kind)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        note = state.notes.get("reflex")
        if note and note["verdict"] == "probe":
            self._record(state, "neutral")  # release the probe slot for someone else

    def _record(self, state: RunState, kind: str) -> None:
        note = state.notes.get("reflex")
        if not note:
            return
        s = state.settings
        transition = record(
            state.redis,
            note["name"],
            str(state.mission.id),
            kind,
            s.neurorail_reflex_failures,
            s.neurorail_reflex_window_s,
            s.neurorail_reflex_cooldown_s,
        )
        if transition:
            self._transition(state, note["name"], transition)

    @staticmethod
    def _transition(state: RunState, name: str, transition: str) -> None:
        event = {
            "opened": "reflex.opened",
            "reopened": "reflex.opened",
            "half_open": "reflex.half_open",
            "closed": "reflex.closed",
        }[transition]
        m.REFLEX_ACTIONS.labels(transition).inc()
        state.events.append((event, {"breaker": name}))
        log.warning("circuit %s %s", name, transition)
