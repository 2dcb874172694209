"""GET /api/system/health: dependencies, workers, queues, last hour, uptime and the SLA from recorded checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.servers import wait_for
from tests.stack import REPO

pytestmark = pytest.mark.e2e


def test_system_health_and_sla_from_recorded_checks(stack):
    mission = stack.submit("echo")
    stack.wait_status(mission["id"])
    # What beat does every BRAIN_HEALTH_CHECK_INTERVAL_S, once now.
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "brain", "call", "brain.health_check"],
        cwd=REPO,
        env=stack.env,
        check=True,
        capture_output=True,
        timeout=60,
    )

    def recorded() -> dict | None:
        body = stack.request("GET", "/api/system/health", params={"window_s": 3600}).json()
        return body if body["sla"]["checks"] >= 1 else None

    body = wait_for(recorded, 30, 0.3, what="a recorded health check")
    assert body["status"] == "ok"
    assert set(body["dependencies"]) == {"database", "redis", "broker"}
    assert all(d["status"] == "ok" and d["latency_ms"] >= 0 for d in body["dependencies"].values())
    assert body["workers"]["online"] >= 1 and body["workers"]["slots"] >= 2
    assert body["queues"]["missions"]["depth"] >= 0
    assert body["missions_last_hour"]["succeeded"] >= 1
    assert 0.0 <= body["error_rate_last_hour"] <= 1.0
    assert body["uptime_s"] > 0
    assert body["sla"]["availability"] == 1.0 and body["sla"]["window_s"] == 3600

    bad = stack.request("GET", "/api/system/health", params={"window_s": "soon"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
