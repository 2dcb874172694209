"""Circuit breakers in Redis: one Lua script per transition, so racing workers agree."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from brain.state import script

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
        keys=_keys(name)[:2], args=[time.time(), mission_id, probe_stale_s])
    return Verdict(_s(verdict), float(open_until), _s(transition))


def record(client: redis.Redis, name: str, mission_id: str, kind: str, threshold: int, window_s: float,
           cooldown_s: float) -> str:
    return _s(script(client, _RECORD)(keys=_keys(name),
                                       args=[time.time(), mission_id, kind, threshold, window_s, cooldown_s]))


def reset(client: redis.Redis, name: str) -> bool:
    """Close a known breaker and forget its failures; False (nothing written) for an unknown name."""
    keys = _keys(name)
    if not (client.sismember(INDEX_KEY, keys[0]) or client.exists(keys[0], keys[1])):
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
        name = key[len(PREFIX):]
        data = {_s(k): _s(v) for k, v in client.hgetall(key).items()}
        failures = client.zcount(key + ":failures", now - window_s, "+inf")
        open_until = float(data.get("open_until") or 0)
        out.append({
            "name": name,
            "state": data.get("state", "closed"),
            "failures_in_window": failures,
            "open_until": open_until if data.get("state") == "open" else None,
            "probe_mission_id": data.get("probe") or None,
        })
    return out


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
