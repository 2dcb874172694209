"""Celery signal handlers: schema check at start, engine disposal after fork, metrics, heartbeat."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time

from celery import signals
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from brain import green
from brain.config import get_settings
from brain.db import dispose_engines
from brain.dispatch import MISSION_IO_QUEUE, MISSION_QUEUE
from brain.errors import BrainError
from brain.queue_metrics import QueueCollector
from brain.rails.collector import NeuroRailCollector
from brain.schema import require_current
from brain.state import get_redis, worker_key
from brain.tenancy.db_role import require_isolating_role
from brain.tenancy.tenant_metrics import TenantCollector
from workers import log_context  # noqa: F401 - connects the logging signal handlers

log = logging.getLogger("brain.worker")

# gevent is not here: brain.green enforces both limits on it (the I/O-bound mode).
POOLS_WITHOUT_TIME_LIMITS = {"thread", "solo", "eventlet"}
HEARTBEAT_S = 5


@signals.worker_init.connect
def check_schema(sender=None, **_) -> None:
    settings = get_settings()
    try:
        require_current(settings.database_url)
        require_isolating_role(settings.database_url, settings.multi_tenancy)
    except BrainError as exc:
        print(f"brain: error: {exc}", file=sys.stderr)
        # SystemExit passes through Celery's signal dispatch and stops start-up.
        raise SystemExit(2) from None
    # At worker_init the pool is still the name given with -P (or a class if set in code).
    pool_cls = getattr(sender, "pool_cls", None)
    pool = pool_cls if isinstance(pool_cls, str) else getattr(pool_cls, "__module__", "") or ""
    if any(name in pool for name in POOLS_WITHOUT_TIME_LIMITS):
        # Logging is configured only later in start-up: say it on stderr now, log it when ready.
        _pool_warning.append(
            f"the {pool.rsplit('.', 1)[-1]} pool cannot enforce time limits: mission "
            "timeouts are only cooperative; run with the prefork pool to enforce them"
        )
        print(f"brain: warning: {_pool_warning[-1]}", file=sys.stderr)


_pool_warning: list[str] = []


@signals.worker_process_init.connect
def reset_after_fork(**_) -> None:
    # Connections inherited from the parent must never be shared with it.
    dispose_engines()


@signals.worker_ready.connect
def on_ready(sender=None, **_) -> None:
    settings = get_settings()
    for message in _pool_warning:
        log.warning(message)
    if sender is not None:
        queues = sender.app.amqp.queues
        _warn_if_green_takes_cpu_missions(set(queues.consume_from or queues))  # no -Q: every queue
    if "metrics" in settings.modules:
        _start_metrics_server(settings.worker_metrics_host, settings.worker_metrics_port)
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    concurrency = getattr(getattr(sender, "controller", None), "concurrency", None)
    threading.Thread(
        target=_heartbeat, args=(settings, hostname, concurrency), name="brain-heartbeat", daemon=True
    ).start()


def _warn_if_green_takes_cpu_missions(consumed: set[str]) -> None:
    if green.active() and MISSION_QUEUE in consumed:
        log.warning(
            "this gevent node also consumes the %s queue: a CPU-bound agent there cannot be pre-empted at "
            "its hard time limit and stalls every mission of the node; start it with -Q %s",
            MISSION_QUEUE,
            MISSION_IO_QUEUE,
        )


@signals.worker_shutdown.connect
def on_shutdown(sender=None, **_) -> None:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        get_redis(get_settings()).delete(worker_key(hostname))
    except Exception:  # noqa: BLE001 - shutting down anyway
        pass


def _heartbeat(settings, hostname: str, concurrency) -> None:
    """Announce this node in Redis so the API can count live workers without a broadcast."""
    client = get_redis(settings)
    value = json.dumps({"hostname": hostname, "pid": os.getpid(), "concurrency": concurrency})
    while True:
        try:
            client.set(worker_key(hostname), value, ex=HEARTBEAT_S * 3)
        except Exception:  # noqa: BLE001 - Redis briefly away: next beat
            pass
        time.sleep(HEARTBEAT_S)


def _start_metrics_server(host: str, port: int) -> None:
    if not port:
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(QueueCollector(get_settings()))
    registry.register(NeuroRailCollector(get_settings()))
    registry.register(TenantCollector(get_settings()))
    try:
        start_http_server(port, addr=host, registry=registry)
        log.info("worker metrics on port %d", port)
    except OSError as exc:
        log.warning("worker metrics port %d unavailable (%s); metrics endpoint off", port, exc)
