"""Every Prometheus metric BRAiN exports, defined once (multiprocess-safe)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)

MISSIONS_ENQUEUED = Counter("brain_missions_enqueued_total", "Missions accepted by the API", ["agent", "priority"])
MISSIONS_FINISHED = Counter(
    "brain_missions_finished_total", "Missions that reached a final status", ["agent", "status"]
)
MISSION_DURATION = Histogram(
    "brain_mission_duration_seconds",
    "Run time of a mission on a worker",
    ["agent"],
    buckets=DURATION_BUCKETS,
)
MISSIONS_REDISPATCHED = Counter("brain_missions_redispatched_total", "Missions the sweeper published again", ["reason"])
# Observed by the worker right after the claim; the live queue gauges are
# computed at scrape time by brain/queue_metrics.py (correct across hosts).
MISSION_QUEUE_WAIT = Histogram(
    "brain_mission_queue_wait_seconds",
    "Time a mission waited from queued to started",
    ["agent"],
    buckets=DURATION_BUCKETS,
)

# Governance (brain/governance): the governor's decisions and its cache.
GOVERNOR_DECISIONS = Counter("governor_decisions_total", "Governor decisions, by effect", ["effect"])
GOVERNOR_CACHE_REQUESTS = Counter("governor_cache_requests_total", "Governor decision cache lookups", ["result"])
GOVERNOR_DECISION_SECONDS = Histogram(
    "governor_decision_seconds",
    "Time to reach one governor decision, by cache result",
    ["cache"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)

# Security (api/rate_limits.py): requests refused with 429, by tier (global, endpoint, tenant, user).
RATE_LIMIT_EXCEEDED = Counter("rate_limit_exceeded_total", "Requests refused by a rate limit", ["tier"])

# Database pool (brain/db_pool.py), per process and summed over the live ones.
DB_POOL_CHECKED_OUT = Gauge("brain_db_pool_checked_out", "Database connections in use", multiprocess_mode="livesum")
DB_POOL_OVERFLOW = Gauge(
    "brain_db_pool_overflow", "Connections open beyond BRAIN_DB_POOL_SIZE", multiprocess_mode="livesum"
)
DB_POOL_WAITS = Counter("brain_db_pool_waits_total", "Checkouts that found every connection in use and waited")
MISSIONS_ADMITTED = Counter(
    "brain_missions_admitted_total", "Missions the fair dispatcher handed from the tenants' backlogs to the broker"
)
DB_SYSTEM_SCOPE = Counter(
    "brain_db_system_scope_total", "Database work that crossed tenants (system scope), by purpose", ["purpose"]
)
DB_POOL_WAIT_SECONDS = Histogram(
    "brain_db_pool_wait_seconds",
    "How long a checkout waited for a free connection",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)

# Pipelines (brain/pipelines): runs by outcome, their duration, and how long a ready node waits to start.
PIPELINE_RUNS = Counter("brain_pipeline_runs_total", "Pipeline runs that ended, by status", ["pipeline", "status"])
PIPELINE_RUN_DURATION = Histogram(
    "brain_pipeline_run_duration_seconds",
    "Time from a pipeline run's start to its end",
    ["pipeline"],
    buckets=DURATION_BUCKETS,
)
PIPELINE_NODE_WAIT = Histogram(
    "brain_pipeline_node_wait_seconds",
    "Time from a node's last dependency finishing to its mission starting on a worker",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300),
)
