"""Liveness leases: a running mission's Redis key, refreshed while its process lives."""

from __future__ import annotations

import os
import socket
import threading

import redis

from brain.state import lease_key


class LeaseKeeper:
    """One daemon thread per process refreshes the leases of the missions it runs."""

    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._client = client
        self._ttl = ttl_s
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def acquire(self, mission_id: str) -> None:
        self._client.set(lease_key(mission_id), self.owner, ex=self._ttl)
        with self._lock:
            self._active.add(mission_id)
        self._ensure_thread()

    def release(self, mission_id: str) -> None:
        with self._lock:
            self._active.discard(mission_id)
        try:
            self._client.delete(lease_key(mission_id))
        except redis.RedisError:
            pass  # it expires by itself

    def _ensure_thread(self) -> None:
        # A forked child inherits the object but not the thread.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self.owner = f"{socket.gethostname()}:{self._pid}"
            self._thread = threading.Thread(target=self._loop, name="brain-lease", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        interval = max(0.5, self._ttl / 3)
        while True:
            threading.Event().wait(interval)
            with self._lock:
                active = list(self._active)
            if not active:
                continue
            try:
                pipe = self._client.pipeline(transaction=False)
                for mission_id in active:
                    pipe.set(lease_key(mission_id), self.owner, ex=self._ttl)
                pipe.execute()
            except redis.RedisError:
                pass  # try again next round; a long outage makes the lease lapse


def lease_alive(client: redis.Redis, mission_ids: list[str]) -> dict[str, bool]:
    pipe = client.pipeline(transaction=False)
    for mission_id in mission_ids:
        pipe.exists(lease_key(mission_id))
    return {mid: bool(n) for mid, n in zip(mission_ids, pipe.execute(), strict=False)}
