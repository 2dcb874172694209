"""Live queue and worker gauges, computed at scrape time from Redis and the database."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from brain import dispatch
from brain.config import Settings
from brain.db import session_scope, utcnow
from brain.dispatch import MISSION_QUEUE
from brain.models import Mission
from brain.models.mission import STATUSES
from brain.state import WORKER_KEY_PATTERN, get_broker_redis, get_redis, lease_key
from brain.tenancy.scope import system_scope

log = logging.getLogger("brain.metrics")
LEASE_PATTERN = lease_key("*")


def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages waiting per queue, summed over its priority lists."""
    return dispatch.queue_depths(get_broker_redis(settings))


def oldest_queued_age(settings: Settings, now: dt.datetime | None = None) -> float:
    """Seconds the oldest mission still `queued` has waited (kombu messages carry no send time)."""
    with system_scope("metrics"), session_scope(settings.database_url) as session:
        oldest = session.scalar(select(func.min(Mission.created_at)).where(Mission.status == "queued"))
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # func.min bypasses the column type on SQLite
        oldest = dt.datetime.fromisoformat(str(oldest)).replace(tzinfo=dt.UTC)
    return max(0.0, ((now or utcnow()) - oldest).total_seconds())


def workers(settings: Settings) -> dict[str, int]:
    """Worker nodes with a live heartbeat, their pool slots, and missions holding a lease."""
    client = get_redis(settings)
    keys = list(client.scan_iter(match=WORKER_KEY_PATTERN, count=1000))
    slots = 0
    for raw in client.mget(keys) if keys else []:
        try:
            slots += int(json.loads(raw or "{}").get("concurrency") or 0)
        except (ValueError, TypeError):
            pass
    busy = sum(1 for _ in client.scan_iter(match=LEASE_PATTERN, count=1000))
    return {"online": len(keys), "slots": slots, "busy": busy}


def missions_in_status(settings: Settings, since: dt.datetime | None = None) -> dict[str, int]:
    """Missions per status (created since `since`, if given); every status present, zeros included."""
    query = select(Mission.status, func.count()).group_by(Mission.status)
    if since is not None:
        query = query.where(Mission.created_at >= since)
    with system_scope("metrics"), session_scope(settings.database_url) as session:
        found = dict(session.execute(query).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


class QueueCollector(Collector):
    """Scrape-time gauges: every process reports the same shared truth, none sums per-process state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._guarded(self._queues)
        yield from self._guarded(self._workers)
        yield from self._guarded(self._statuses)

    def _guarded(self, fn) -> list[GaugeMetricFamily]:
        try:
            return list(fn())
        except Exception as exc:  # noqa: BLE001 - a dependency down must not break /metrics
            log.warning("queue metrics unavailable: %s", exc)
            return []

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("brain_queue_depth", "Messages waiting in a broker queue", labels=["queue"])
        for queue, count in queue_depths(self.settings).items():
            depth.add_metric([queue], count)
        yield depth
        age = GaugeMetricFamily(
            "brain_queue_oldest_age_seconds", "Age of the oldest mission still waiting to start", labels=["queue"]
        )
        age.add_metric([MISSION_QUEUE], oldest_queued_age(self.settings))
        yield age

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        found = workers(self.settings)
        yield GaugeMetricFamily("brain_workers_online", "Worker nodes with a live heartbeat", value=found["online"])
        yield GaugeMetricFamily("brain_worker_slots", "Pool processes of the live worker nodes", value=found["slots"])
        yield GaugeMetricFamily("brain_workers_busy", "Missions running right now (live leases)", value=found["busy"])

    def _statuses(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("brain_missions_in_status", "Missions currently in each status", labels=["status"])
        for status, count in missions_in_status(self.settings).items():
            family.add_metric([status], count)
        yield family
