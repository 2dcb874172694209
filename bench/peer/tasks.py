"""The peer's Celery app and its no-op task (`celery -A bench.peer.tasks worker`)."""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/1")
DONE_KEY = "peer:done"

app = Celery("peer", broker=BROKER_URL)
# Plain defaults, as a hand-written app would have them; only results are off (nobody reads them).
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(BROKER_URL)
    return _client


@app.task(name="peer.noop")
def noop(body: dict) -> None:
    # Record when it ran, so the bench can time the drain the same way as BRAiN's
    # started_at/finished_at columns: first start to last finish.
    started = time.time()
    _redis().rpush(DONE_KEY, f"{started:.6f} {time.time():.6f}")
