"""Celery settings (lowercase) derived from the active BRAiN profile."""

from kombu import Exchange, Queue

from brain import broker
from brain.config import get_settings
from brain.dispatch import CONTROL_QUEUE, MISSION_IO_QUEUE, MISSION_QUEUE, PRIORITY_STEPS

_s = get_settings()
# Before any connection is made: the Redis transport that survives a broker restart.
broker.install()

broker_url, _sentinel_options = broker.celery_broker(_s.broker_url)
broker_connection_retry_on_startup = True
broker_connection_timeout = 3
broker_transport_options = {
    # A message not acked within this time is delivered again; it exceeds the
    # largest hard time limit so a long mission is never run twice concurrently.
    "visibility_timeout": _s.visibility_timeout_s,
    "priority_steps": list(PRIORITY_STEPS),
    "sep": ":",
    "queue_order_strategy": "priority",
    **_sentinel_options,  # master_name (and the sentinels' password) for a sentinel:// broker
}
# Mission state lives in the database; Celery results are never read.
result_backend = None
task_ignore_result = True
task_store_errors_even_if_ignored = False

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

task_acks_late = True
task_reject_on_worker_lost = True
task_acks_on_failure_or_timeout = True
worker_prefetch_multiplier = 1
worker_concurrency = _s.worker_count
worker_send_task_events = True
worker_hijack_root_logger = False

# One exchange per queue: with a shared default exchange and routing key Redis
# would copy every mission message into the control queue as well.
task_queues = (
    Queue(MISSION_QUEUE, Exchange(MISSION_QUEUE), routing_key=MISSION_QUEUE),
    Queue(MISSION_IO_QUEUE, Exchange(MISSION_IO_QUEUE), routing_key=MISSION_IO_QUEUE),
    Queue(CONTROL_QUEUE, Exchange(CONTROL_QUEUE), routing_key=CONTROL_QUEUE),
)
task_default_exchange = MISSION_QUEUE
task_default_routing_key = MISSION_QUEUE
task_default_queue = MISSION_QUEUE
task_routes = {"brain.sweep": {"queue": CONTROL_QUEUE}, "brain.health_check": {"queue": CONTROL_QUEUE}}
task_publish_retry = True
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

beat_schedule = {
    "brain-sweep": {"task": "brain.sweep", "schedule": float(_s.sweep_interval_s)},
}
if "metrics" in _s.modules:
    # One SLA sample per interval (GET /api/system/health reports the availability).
    beat_schedule["brain-health-check"] = {"task": "brain.health_check", "schedule": float(_s.health_check_interval_s)}
