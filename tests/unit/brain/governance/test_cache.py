"""The decision cache: bounded LRU, and deciding on without Redis rather than failing."""

from __future__ import annotations

import redis

from brain.governance.cache import DecisionCache
from tests.servers import free_port


def test_lru_is_bounded_and_keeps_recent_entries():
    cache = DecisionCache(None, ttl_s=60, maxsize=2)
    cache.put("a", {"effect": "allow"})
    cache.put("b", {"effect": "deny"})
    assert cache.get("a") == {"effect": "allow"}  # a is now the most recent
    cache.put("c", {"effect": "allow"})
    assert cache.get("b") is None and cache.get("a") and cache.get("c")


def test_an_unreachable_redis_is_a_miss_not_an_error():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    cache = DecisionCache(client, ttl_s=60)
    assert cache.get("k") is None
    cache.put("k", {"effect": "allow"})  # logged, not raised
    assert cache.get("k") == {"effect": "allow"}  # still served from the local LRU
