"""The recovery loop every worker node runs: the holder of a Redis leader lease sweeps, the rest stand by.

Recovery must not depend on one extra process (beat) that an operator may not run and that
would be a single point of failure. Every worker node runs this loop in a daemon thread of
its main process; the lease makes one of them sweep at a time across the deployment, and
when that node dies its lease lapses within `BRAIN_SWEEP_LEADER_TTL_S` and another takes
over. The leader also records the periodic health check (the SLA samples) and publishes
the signed audit chain head when BRAIN_AUDIT_HEAD_EXPORT is set.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from brain.config import Settings
from brain.db import session_scope
from brain.leader import LeaderLease
from brain.services import audit_head
from brain.services.health import record_check
from brain.state import SWEEP_LEADER_KEY, get_redis
from brain.sweeper import sweep
from brain.tenancy.scope import system_scope

if TYPE_CHECKING:
    pass

log = logging.getLogger("brain.sweeper")


class SweepLoop:
    """start() once per worker node; stop() at shutdown hands the lease over at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease = LeaderLease(get_redis(settings), SWEEP_LEADER_KEY, settings.sweep_leader_ttl_s)
        # Renew three times per TTL, and look at least as often as a sweep is due.
        self.tick_s = min(settings.sweep_leader_ttl_s / 3, settings.sweep_interval_s)
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="brain-sweep-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.leading:
            try:
                self.lease.release()
            except Exception:  # noqa: BLE001 - it lapses by itself
                pass

    def _run(self) -> None:
        # The first health sample waits an interval: this node is not announced online yet.
        next_sweep = next_head = 0.0
        next_check = time.monotonic() + self.settings.health_check_interval_s
        while not self._stop.is_set():
            try:
                self._set_leading(self.lease.hold())
                now = time.monotonic()
                if self.leading and now >= next_sweep:
                    next_sweep = now + self.settings.sweep_interval_s
                    sweep(self.settings)
                if self.leading and "metrics" in self.settings.modules and now >= next_check:
                    next_check = now + self.settings.health_check_interval_s
                    record_check(self.settings)
                if self.leading and self.settings.audit_head_export and now >= next_head:
                    next_head = now + self.settings.audit_head_export_interval_s
                    self._publish_head()
            except Exception as exc:  # noqa: BLE001 - Redis or the database away: try again next tick
                log.warning("sweep loop: %s: %s", type(exc).__name__, exc)
            self._stop.wait(self.tick_s)

    def _publish_head(self) -> None:
        with system_scope("sweep"), session_scope(self.settings.database_url) as session:
            head = audit_head.current(session, self.settings.audit_signing_key)
        audit_head.export(self.settings.audit_head_export, head)
        log.info("published audit head: event %s, hash %s", head["event_id"], head["hash"])

    def _set_leading(self, leading: bool) -> None:
        if leading != self.leading:
            log.info("this node %s the sweep leader", "is now" if leading else "is no longer")
        self.leading = leading
