"""Every Prometheus metric BRAiN exports, defined once (multiprocess-safe)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)

MISSIONS_ENQUEUED = Counter(
    "brain_missions_enqueued_total", "Missions accepted by the API", ["agent", "priority"]
)
MISSIONS_FINISHED = Counter(
    "brain_missions_finished_total", "Missions that reached a final status", ["agent", "status"]
)
MISSION_DURATION = Histogram(
    "brain_mission_duration_seconds", "Run time of a mission on a worker", ["agent"],
    buckets=DURATION_BUCKETS,
)
MISSIONS_REDISPATCHED = Counter(
    "brain_missions_redispatched_total", "Missions the sweeper published again", ["reason"]
)
