"""A leader lease in Redis: at most one holder at a time, taken over when the holder stops renewing."""

from __future__ import annotations

import os
import socket
import uuid

import redis

from brain.state import script

# Renew if ours, else take it only if nobody holds it: one round trip, no race between the two.
_HOLD = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LeaderLease:
    """Call `hold()` more often than `ttl_s`; it returns whether this process leads right now."""

    def __init__(self, client: redis.Redis, key: str, ttl_s: float, name: str | None = None) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl_s * 1000)
        # Unique per lease object: two nodes on one host (or a restarted one) never share a token.
        self.token = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; False while someone else holds it."""
        return bool(script(self.client, _HOLD)(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> None:
        """Give the lease up now (a clean shutdown), so another node takes over at once."""
        script(self.client, _RELEASE)(keys=[self.key], args=[self.token])

    def holder(self) -> str | None:
        raw = self.client.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw
