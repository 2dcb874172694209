"""The decision cache: a small in-process LRU in front of Redis (shared by every process)."""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import Any

import redis

from brain.fork_safe import ForkSafeLock

log = logging.getLogger("brain.governance.cache")

PREFIX = "brain:gov:decision:"


class DecisionCache:
    """Keys already carry the policy-set version, so a reload can never serve a stale entry."""

    def __init__(self, client: redis.Redis | None, ttl_s: int, maxsize: int = 4096) -> None:
        self.client, self.ttl_s, self.maxsize = client, ttl_s, maxsize
        self._lru: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = ForkSafeLock()

    def get(self, key: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            entry = self._lru.get(key)
            if entry is not None:
                if entry[0] > now:
                    self._lru.move_to_end(key)
                    return entry[1]
                del self._lru[key]
        if self.client is None:
            return None
        try:
            raw = self.client.get(PREFIX + key)
        except redis.RedisError as exc:  # the cache is an optimisation: decide without it
            log.warning("decision cache unavailable: %s", exc)
            return None
        if raw is None:
            return None
        value = json.loads(raw)
        self._remember(key, value, now)
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._remember(key, value, time.monotonic())
        if self.client is None:
            return
        try:
            self.client.set(PREFIX + key, json.dumps(value, separators=(",", ":")), ex=self.ttl_s)
        except redis.RedisError as exc:
            log.warning("decision cache unavailable: %s", exc)

    def _remember(self, key: str, value: dict[str, Any], now: float) -> None:
        with self._lock:
            self._lru[key] = (now + self.ttl_s, value)
            self._lru.move_to_end(key)
            while len(self._lru) > self.maxsize:
                self._lru.popitem(last=False)

    def clear_local(self) -> None:
        with self._lock:
            self._lru.clear()
