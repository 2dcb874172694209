"""Per-tenant metrics, bounded: the first BRAIN_METRICS_TENANT_LABELS tenants seen get a label, the rest `other`.

Which tenants are labelled is decided once, in Redis, for every process on every host, so a
tenant never changes label between processes. Finished missions and tokens are counted in
Redis by the workers; queue depth, oldest age and running are read from the database at
scrape time. Every API process reports the same shared truth, like brain/queue_metrics.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from brain import metrics
from brain.config import Settings
from brain.config.parsers import _int
from brain.config.settings import declare, setting
from brain.db import session_scope, utcnow
from brain.models import Mission
from brain.state import get_redis, script
from brain.tenancy.scope import system_scope

declare(
    "tenants",
    metrics_tenant_labels=setting(
        "BRAIN_METRICS_TENANT_LABELS",
        _int(0, 10_000),
        "Tenants with their own label on per-tenant metrics (the first seen); the rest are counted as `other`",
        50,
    ),
)

log = logging.getLogger("brain.metrics")

LABELS_KEY = "brain:metrics:tenant_labels"
STATS_PREFIX = "brain:metrics:tenant:"
OTHER = "other"

# KEYS[1] labelled set; ARGV: tenant, max labels, status ('' = none), tokens, stats prefix, deferral reason ('' = none).
_COUNT = """
local label = ARGV[1]
if redis.call('SISMEMBER', KEYS[1], label) == 0 then
  if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then redis.call('SADD', KEYS[1], label) else label = 'other' end
end
local stats = ARGV[5] .. label
if ARGV[3] ~= '' then redis.call('HINCRBY', stats, 'finished:' .. ARGV[3], 1) end
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', stats, 'tokens', ARGV[4]) end
if ARGV[6] ~= '' then redis.call('HINCRBY', stats, 'deferred:' .. ARGV[6], 1) end
return label
"""


def count(
    settings: Settings, tenant: str, status: str | None = None, tokens: int = 0, deferred: str | None = None
) -> None:
    """Count a finished mission (`status`), `tokens` used or a `deferred` admission, under the tenant's label."""
    if not status and tokens <= 0 and not deferred:
        return
    try:
        client = get_redis(settings)
        script(client, _COUNT)(
            keys=[LABELS_KEY],
            args=[
                tenant,
                settings.metrics_tenant_labels,
                status or "",
                int(tokens),
                STATS_PREFIX,
                deferred or "",
            ],
        )
    except redis.RedisError as exc:  # a metric must never fail a mission
        log.warning("per-tenant metrics not counted: %s", exc)


def finished(settings: Settings, tenant: str, agent: str, status: str) -> None:
    """The one place a mission reaching a final status is counted: per agent and per tenant."""
    metrics.MISSIONS_FINISHED.labels(agent, status).inc()
    count(settings, tenant, status=status)


class TenantCollector(Collector):
    """Scrape-time per-tenant families."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            client = get_redis(self.settings)
            labelled = {m.decode() if isinstance(m, bytes) else m for m in client.smembers(LABELS_KEY)}
            yield from self._live(labelled)
            yield from self._counted(client, labelled)
        except Exception as exc:  # noqa: BLE001 - a dependency down must not break /metrics
            log.warning("per-tenant metrics unavailable: %s", exc)

    def _live(self, labelled: set[str]) -> Iterator[GaugeMetricFamily]:
        query = (
            select(Mission.tenant, Mission.status, func.count(), func.min(Mission.created_at))
            .where(Mission.status.in_(("queued", "running")))
            .group_by(Mission.tenant, Mission.status)
        )
        with system_scope("metrics"), session_scope(self.settings.database_url) as session:
            rows = session.execute(query).all()
        queued: dict[str, int] = {}
        running: dict[str, int] = {}
        oldest: dict[str, dt.datetime] = {}
        for tenant, status, n, first in rows:
            label = tenant if tenant in labelled else OTHER
            target = queued if status == "queued" else running
            target[label] = target.get(label, 0) + n
            if status == "queued" and first is not None:
                first = _aware(first)
                oldest[label] = min(oldest.get(label, first), first)
        now = utcnow()
        depth = GaugeMetricFamily(
            "brain_tenant_missions_queued", "Missions waiting to start, per tenant", labels=["tenant"]
        )
        age = GaugeMetricFamily(
            "brain_tenant_oldest_queued_age_seconds",
            "Age of the tenant's oldest mission still queued",
            labels=["tenant"],
        )
        busy = GaugeMetricFamily("brain_tenant_missions_running", "Missions running now, per tenant", labels=["tenant"])
        for label in sorted(labelled | {OTHER}):
            depth.add_metric([label], queued.get(label, 0))
            age.add_metric([label], max(0.0, (now - oldest[label]).total_seconds()) if label in oldest else 0.0)
            busy.add_metric([label], running.get(label, 0))
        yield from (depth, age, busy)

    def _counted(self, client: redis.Redis, labelled: set[str]) -> Iterator[CounterMetricFamily]:
        done = CounterMetricFamily(
            "brain_tenant_missions_finished",
            "Missions that reached a final status, per tenant",
            labels=["tenant", "status"],
        )
        tokens = CounterMetricFamily("brain_tenant_tokens", "LLM tokens used, per tenant", labels=["tenant"])
        deferred = CounterMetricFamily(
            "brain_tenant_deferrals",
            "Times a tenant's missions were held back by one of its limits: admission passes at running_max, "
            "LLM calls deferred at llm_tokens_per_minute",
            labels=["tenant", "limit"],
        )
        labels = sorted(labelled | {OTHER})
        pipe = client.pipeline(transaction=False)
        for label in labels:
            pipe.hgetall(STATS_PREFIX + label)
        for label, raw in zip(labels, pipe.execute(), strict=True):
            stats = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
            for field, value in sorted(stats.items()):
                if field.startswith("finished:"):
                    done.add_metric([label, field.split(":", 1)[1]], value)
                elif field.startswith("deferred:"):
                    deferred.add_metric([label, field.split(":", 1)[1]], value)
            tokens.add_metric([label], stats.get("tokens", 0))
        yield from (done, tokens, deferred)


def _aware(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # func.min bypasses the column type on SQLite
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
