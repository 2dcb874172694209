"""Per-tenant metrics on real Redis and the database: bounded labels, shared counts, live gauges."""

from __future__ import annotations

import datetime as dt
import uuid

from brain.db import session_scope, utcnow
from brain.models import Mission
from brain.tenancy import tenant_metrics
from tests.unit.conftest import unit_settings


def _samples(settings) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in tenant_metrics.TenantCollector(settings).collect():
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _add(url: str, tenant: str, status: str, age_s: float = 0) -> None:
    with session_scope(url) as session:
        session.add(
            Mission(
                id=uuid.uuid4(),
                name="m",
                agent="echo",
                payload={},
                tenant=tenant,
                status=status,
                created_at=utcnow() - dt.timedelta(seconds=age_s),
            )
        )


def test_the_first_tenants_get_labels_the_rest_are_other(database_url, redis_server):
    redis_server.client().flushdb()
    settings = unit_settings(database_url, redis_server.url, BRAIN_METRICS_TENANT_LABELS="2")
    tenant_metrics.count(settings, "acme", status="succeeded")
    tenant_metrics.count(settings, "globex", status="failed")
    tenant_metrics.count(settings, "acme", status="succeeded", tokens=120)
    for late in ("initech", "umbrella"):  # past the bound: both counted as `other`
        tenant_metrics.count(settings, late, status="succeeded", tokens=5)
    tenant_metrics.count(settings, "globex", tokens=7)  # an attempt that used tokens and was retried

    _add(database_url, "acme", "queued", age_s=30)
    _add(database_url, "acme", "queued", age_s=5)
    _add(database_url, "initech", "running")
    _add(database_url, "acme", "succeeded")

    got = _samples(settings)
    finished = {k[1]: v for k, v in got.items() if k[0] == "brain_tenant_missions_finished_total"}
    assert finished == {
        (("status", "succeeded"), ("tenant", "acme")): 2,
        (("status", "failed"), ("tenant", "globex")): 1,
        (("status", "succeeded"), ("tenant", "other")): 2,
    }
    tokens = {dict(k[1])["tenant"]: v for k, v in got.items() if k[0] == "brain_tenant_tokens_total"}
    assert tokens == {"acme": 120, "globex": 7, "other": 10}
    queued = {dict(k[1])["tenant"]: v for k, v in got.items() if k[0] == "brain_tenant_missions_queued"}
    running = {dict(k[1])["tenant"]: v for k, v in got.items() if k[0] == "brain_tenant_missions_running"}
    assert queued == {"acme": 2, "globex": 0, "other": 0} and running == {"acme": 0, "globex": 0, "other": 1}
    ages = {dict(k[1])["tenant"]: v for k, v in got.items() if k[0] == "brain_tenant_oldest_queued_age_seconds"}
    assert 29 <= ages["acme"] < 120 and ages["other"] == 0.0
    # the label set is shared state: a second process (a fresh collector) sees the same labels
    assert {dict(k[1])["tenant"] for k in got} == {"acme", "globex", "other"}


def test_counting_without_redis_never_fails_the_caller(database_url):
    settings = unit_settings(database_url, "redis://127.0.0.1:1/0")
    tenant_metrics.count(settings, "acme", status="succeeded")  # logged, not raised
    assert list(tenant_metrics.TenantCollector(settings).collect()) == []
