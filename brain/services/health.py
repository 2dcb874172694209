"""System health: dependency probes with latency, queue/worker state, recent outcomes, SLA availability."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, delete, func, select, text

from brain import queue_metrics
from brain.config import Settings
from brain.db import read_scope, session_scope, utcnow
from brain.models import HealthCheck
from brain.state import LAST_SWEEP_KEY, SWEEP_LEADER_KEY, get_broker_redis, get_redis

FAILED = ("failed", "timed_out", "over_budget", "expired")
KEEP_CHECKS = dt.timedelta(days=35)
CHECK_SLOT_KEY = "brain:health:slot"


def _probe(fn: Callable[[], Any]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        fn()
        status = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        status = f"unreachable: {type(exc).__name__}"
    return {"status": status, "latency_ms": round((time.monotonic() - started) * 1000, 2)}


def dependencies(settings: Settings) -> dict[str, dict[str, Any]]:
    def database() -> None:
        with read_scope(settings.database_url) as session:  # on SQLite a read takes no write lock
            session.execute(text("SELECT 1"))

    return {
        "database": _probe(database),
        "redis": _probe(lambda: get_redis(settings).ping()),
        "broker": _probe(lambda: get_broker_redis(settings).ping()),
    }


def _safe(fn: Callable[[], Any], fallback: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - reported as a failed dependency already
        return fallback


def sweeper(settings: Settings) -> dict[str, Any]:
    """Which worker node leads the sweep, and how long ago a sweep last finished."""
    client = get_redis(settings)
    holder, last = client.get(SWEEP_LEADER_KEY), client.get(LAST_SWEEP_KEY)
    return {
        "leader": holder.decode() if isinstance(holder, bytes) else holder,
        "last_sweep_age_s": round(max(0.0, time.time() - float(last)), 3) if last else None,
    }


def snapshot(settings: Settings, started_at: float) -> dict[str, Any]:
    """Everything an operator wants on one page; never raises for a dependency being down."""
    deps = dependencies(settings)
    hour_ago = utcnow() - dt.timedelta(hours=1)
    statuses = _safe(lambda: queue_metrics.missions_in_status(settings, since=hour_ago), {})
    finished = sum(n for s, n in statuses.items() if s in ("succeeded", "cancelled", "rejected", *FAILED))
    failed = sum(statuses.get(s, 0) for s in FAILED)
    workers = _safe(lambda: queue_metrics.workers(settings), {"online": 0, "slots": 0, "busy": 0})
    depths = _safe(lambda: queue_metrics.queue_depths(settings), {})
    ok = all(d["status"] == "ok" for d in deps.values())
    return {
        "status": "ok" if ok and workers["online"] else ("degraded" if ok else "down"),
        "dependencies": deps,
        "workers": workers,
        "queues": {q: {"depth": n} for q, n in depths.items()},
        "oldest_queued_age_s": round(_safe(lambda: queue_metrics.oldest_queued_age(settings), 0.0), 3),
        "missions_last_hour": statuses,
        "error_rate_last_hour": round(failed / finished, 4) if finished else 0.0,
        "uptime_s": round(time.time() - started_at, 1),
        "sweeper": _safe(lambda: sweeper(settings), {"leader": None, "last_sweep_age_s": None}),
    }


def _take_slot(settings: Settings) -> bool:
    """One sample per interval across the deployment: beat and the sweep leader may both ask."""
    try:
        return bool(get_redis(settings).set(CHECK_SLOT_KEY, 1, nx=True, px=int(settings.health_check_interval_s * 900)))
    except Exception:  # noqa: BLE001 - Redis down is exactly what the sample must record
        return True


def record_check(settings: Settings) -> HealthCheck | None:
    """One SLA sample: up when every dependency answers and at least one worker is online.

    None when another process already took this interval's sample.
    """
    if not _take_slot(settings):
        return None
    deps = dependencies(settings)
    online = _safe(lambda: queue_metrics.workers(settings)["online"], 0)
    ok = all(d["status"] == "ok" for d in deps.values()) and online > 0
    check = HealthCheck(checked_at=utcnow(), ok=ok, details={"dependencies": deps, "workers_online": online})
    with session_scope(settings.database_url) as session:
        session.add(check)
        session.execute(delete(HealthCheck).where(HealthCheck.checked_at < utcnow() - KEEP_CHECKS))
    return check


def availability(settings: Settings, window_s: int) -> dict[str, Any]:
    """Share of recorded checks in the window that were up; `expected` shows how many should exist."""
    since = utcnow() - dt.timedelta(seconds=window_s)
    with session_scope(settings.database_url) as session:
        total, up = session.execute(
            select(func.count(), func.coalesce(func.sum(case((HealthCheck.ok, 1), else_=0)), 0)).where(
                HealthCheck.checked_at >= since
            )
        ).one()
    return {
        "window_s": window_s,
        "checks": int(total),
        "checks_ok": int(up),
        "expected_checks": window_s // settings.health_check_interval_s,
        "availability": round(int(up) / int(total), 6) if total else None,
    }
