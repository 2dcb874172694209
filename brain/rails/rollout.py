"""Rollout: phase, per-rail flags and the canary percentage decide enforce vs observe per mission."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from brain.config import Settings

if TYPE_CHECKING:
    from brain.rails.base import Rail

log = logging.getLogger("brain.neurorail.rollout")

PERCENTAGE_KEY = "nr:rollout:percentage"
STAGES = (0, 10, 50, 100)
_cache: dict[str, tuple[float, int]] = {}
CACHE_S = 2.0

OFF, OBSERVE, ENFORCE = "off", "observe", "enforce"


def in_canary(mission_id: str, percentage: int) -> bool:
    """A stable hash of the mission id picks the enforced share."""
    if percentage >= 100 or percentage <= 0:
        return percentage >= 100  # every bucket is below 100 and none below 0: skip the hash
    bucket = int(hashlib.sha256(str(mission_id).encode()).hexdigest()[:8], 16) % 100
    return bucket < percentage


def current_percentage(settings: Settings, client: redis.Redis) -> int:
    """The live percentage: the rollback guard's value in Redis, else the setting (cached 2 s)."""
    now = time.monotonic()
    hit = _cache.get(settings.redis_url)
    if hit and now - hit[0] < CACHE_S:
        return hit[1]
    try:
        raw = client.get(PERCENTAGE_KEY)
    except redis.RedisError:
        raw = None
    value = int(raw) if raw is not None else settings.neurorail_enforcement_percentage
    _cache[settings.redis_url] = (now, value)
    return value


def forget_cached_percentage() -> None:
    _cache.clear()


@dataclass(frozen=True)
class Enforcement:
    """The mode of each rail for one mission: the phase, the canary, and the rail's own flag."""

    phase: int
    percentage: int
    canary: bool
    settings: Settings

    @classmethod
    def for_mission(cls, settings: Settings, client: redis.Redis, mission_id: str) -> Enforcement:
        pct = current_percentage(settings, client) if settings.neurorail_phase == 2 else 0
        return cls(phase=settings.neurorail_phase, percentage=pct, canary=in_canary(mission_id, pct), settings=settings)

    def mode(self, rail: Rail) -> str:
        """off, observe or enforce. A rail declares its flag (a setting) and what the flag being off means."""
        if self.phase == 0:
            return OFF
        enabled = bool(getattr(self.settings, rail.flag)) if rail.flag else True
        if not enabled and rail.flag_switches_off:
            return OFF
        if self.phase == 2 and enabled and self.canary:
            return ENFORCE
        return OBSERVE


def previous_stage(percentage: int) -> int:
    lower = [s for s in STAGES if s < percentage]
    return lower[-1] if lower else 0


# ---- the rollback guard ---------------------------------------------------------------
BUCKET_PREFIX = "nr:rollout:bucket:"
COOLDOWN_KEY = "nr:rollout:cooldown"
BUCKET_S = 10


FLUSH_S = 1.0
_pending: dict[int, list[int]] = {}  # bucket -> [total, rail-caused], this process only
_flushed_at = 0.0


def record_outcome(client: redis.Redis, settings: Settings, rail_caused: bool) -> None:
    """Count a finished mission (and whether an enforcing rail caused its failure) in a time bucket.

    Counts are buffered per process and written at most once a second (at once for a
    rail-caused failure, with everything pending), so a mission costs no extra round trip.
    """
    global _flushed_at
    if settings.neurorail_phase != 2:
        return
    counts = _pending.setdefault(int(time.time()) // BUCKET_S, [0, 0])
    counts[0] += 1
    counts[1] += int(rail_caused)
    now = time.monotonic()
    if not rail_caused and now - _flushed_at < FLUSH_S:
        return
    _flushed_at = now
    pending = dict(_pending)
    _pending.clear()
    try:
        pipe = client.pipeline(transaction=False)
        for bucket, (total, rail) in pending.items():
            key = f"{BUCKET_PREFIX}{bucket}"
            pipe.hincrby(key, "total", total)
            if rail:
                pipe.hincrby(key, "rail", rail)
            pipe.expire(key, settings.neurorail_rollback_window_s + 2 * BUCKET_S)
        pipe.execute()
    except redis.RedisError:
        log.warning("could not record %d rollout samples", sum(t for t, _ in pending.values()))


def window_counts(client: redis.Redis, window_s: int) -> tuple[int, int]:
    now_bucket = int(time.time()) // BUCKET_S
    keys = [f"{BUCKET_PREFIX}{b}" for b in range(now_bucket - window_s // BUCKET_S, now_bucket + 1)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, "total", "rail")
    total = rail = 0
    for t, r in pipe.execute():
        total += int(t or 0)
        rail += int(r or 0)
    return total, rail


def guard(client: redis.Redis, settings: Settings) -> dict | None:
    """Step the canary back one stage when rail-caused failures exceed the allowed rate.

    Returns the change (for an audit event), or None. After a step the guard waits a
    whole window, so one bad spell costs one stage, not all of them.
    """
    if settings.neurorail_phase != 2 or client.exists(COOLDOWN_KEY):
        return None
    total, rail = window_counts(client, settings.neurorail_rollback_window_s)
    if total < settings.neurorail_rollback_min_missions or rail / total <= settings.neurorail_rollback_error_rate:
        return None
    raw = client.get(PERCENTAGE_KEY)
    current = int(raw) if raw is not None else settings.neurorail_enforcement_percentage
    if current == 0:
        return None
    new = previous_stage(current)
    client.set(PERCENTAGE_KEY, new)
    client.set(COOLDOWN_KEY, 1, ex=settings.neurorail_rollback_window_s)
    forget_cached_percentage()
    change = {
        "from": current,
        "to": new,
        "rail_failures": rail,
        "missions": total,
        "rate": round(rail / total, 4),
        "threshold": settings.neurorail_rollback_error_rate,
    }
    log.warning(
        "NeuroRail rollback: %d/%d missions (%.1f%%) failed by enforcing rails in the last %d s, "
        "above %.1f%%; enforcement %d%% -> %d%%",
        rail,
        total,
        100 * rail / total,
        settings.neurorail_rollback_window_s,
        100 * settings.neurorail_rollback_error_rate,
        current,
        new,
    )
    return change
