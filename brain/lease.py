"""Liveness leases: a running mission's Redis key, refreshed while its process lives."""

from __future__ import annotations

import os
import socket
import threading
import time

import redis

from brain.state import lease_key


class LeaseKeeper:
    """One daemon thread per process writes and refreshes the leases of the missions it runs.

    The first write is lazy: the sweeper only looks at missions started more than a lease
    TTL ago, so a lease written within a fraction of the TTL covers every mission it could
    look at, and a mission that ends sooner (most of them) costs no Redis round trip at all.
    """

    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._client = client
        self._ttl = ttl_s
        # A lease is first written this long after its mission starts, then refreshed every
        # refresh_s; the thread looks twice per first_write_s, so the first write lands
        # within 1.5 x first_write_s (at most 0.375 TTL), long before the sweeper could look.
        self.first_write_s = min(0.5, ttl_s / 4)
        self.refresh_s = max(0.5, ttl_s / 3)
        self._active: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def acquire(self, mission_id: str) -> None:
        self._ensure_thread()
        with self._lock:
            self._active[mission_id] = _Lease(due=time.monotonic() + self.first_write_s)

    def release(self, mission_id: str) -> None:
        with self._lock:
            lease = self._active.pop(mission_id, None)
        if lease is None or not lease.written:
            return  # never written: nothing to delete (the thread deletes one it writes too late)
        try:
            self._client.delete(lease_key(mission_id))
        except redis.RedisError:
            pass  # it expires by itself

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            # A forked child inherits the object but not the thread (nor a usable lock).
            self._pid = os.getpid()
            self.owner = f"{socket.gethostname()}:{self._pid}"
            self._lock = threading.Lock()
            self._active = {}
            self._thread = None
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="brain-lease", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        # A fixed tick rather than a wake-up per mission: no thread switch on the hot path.
        tick = self.first_write_s / 2
        while True:
            time.sleep(tick)
            try:
                self._write_due()
            except Exception:  # noqa: BLE001 - the thread must outlive any one bad round
                pass

    def _write_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [mid for mid, lease in self._active.items() if lease.due <= now]
            for mid in due:
                self._active[mid].written = True
                self._active[mid].due = now + self.refresh_s
        if not due:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for mission_id in due:
                pipe.set(lease_key(mission_id), self.owner, ex=self._ttl)
            pipe.execute()
        except redis.RedisError:
            pass  # try again next round; a long outage makes the lease lapse
        with self._lock:
            gone = [mid for mid in due if mid not in self._active]
        if gone:
            # Released while being written: the release saw `written` and deleted it, but
            # this write may have landed after that delete.
            try:
                self._client.delete(*(lease_key(mid) for mid in gone))
            except redis.RedisError:
                pass


class _Lease:
    __slots__ = ("due", "written")

    def __init__(self, due: float) -> None:
        self.due = due
        self.written = False


def lease_alive(client: redis.Redis, mission_ids: list[str]) -> dict[str, bool]:
    pipe = client.pipeline(transaction=False)
    for mission_id in mission_ids:
        pipe.exists(lease_key(mission_id))
    return {mid: bool(n) for mid, n in zip(mission_ids, pipe.execute(), strict=False)}
