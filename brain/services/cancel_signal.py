"""Telling a worker that a cancelled mission must stop: the Redis flag its run checks, and a revoke."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from brain import metrics
from brain.state import cancel_key, get_redis

if TYPE_CHECKING:
    from celery import Celery

    from brain.config import Settings

log = logging.getLogger("brain.cancel")
FLAG_TTL_S = 7 * 86400


def signal(settings: Settings, app: Celery | None, mission_id: str, agent: str, was_running: bool) -> None:
    """After the cancel committed: count it, flag it for the worker, and terminate a running attempt."""
    metrics.MISSIONS_FINISHED.labels(agent, "cancelled").inc()
    try:
        get_redis(settings).set(cancel_key(mission_id), 1, ex=FLAG_TTL_S)
    except redis.RedisError as exc:
        # The row says cancelled: the worker's claim and its outcome write both respect that.
        log.warning("cancel flag of mission %s not set (Redis: %s)", mission_id, exc)
    if was_running and app is not None:
        app.control.revoke(mission_id, terminate=True, signal="SIGTERM")
