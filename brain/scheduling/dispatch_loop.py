"""The admission loop every worker node runs: the holder of a Redis leader lease admits, the rest stand by.

It runs in a process of its own beside the node's Celery main process (started and stopped
with it, and killed with it: PR_SET_PDEATHSIG), so admitting and publishing never hold the GIL
the consumer loop needs. A killed leader loses nothing: the backlog is in the database;
another node takes the lease within its TTL and goes on from there (the round-robin credit
starts afresh).
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time

from brain.config import Settings
from brain.leader import LeaderLease
from brain.scheduling.dispatcher import Dispatcher
from brain.state import get_redis

log = logging.getLogger("brain.scheduling")

DISPATCH_LEADER_KEY = "brain:dispatch:leader"
WARN_EVERY_S = 10.0


class DispatchLoop:
    """Renew or take the lease and run admission passes, in the foreground of its own process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease = LeaderLease(get_redis(settings), DISPATCH_LEADER_KEY, settings.sweep_leader_ttl_s)
        self.dispatcher = Dispatcher(settings)
        self.leading = False

    def run(self, stopped: threading.Event) -> None:
        """Until `stopped` is set; then hand the lease over at once, so another node takes over."""
        renew_every = self.settings.sweep_leader_ttl_s / 3
        next_renew = 0.0
        last_warning = 0.0
        try:
            while not stopped.is_set():
                try:
                    now = time.monotonic()
                    if now >= next_renew:
                        self._set_leading(self.lease.hold())
                        next_renew = now + renew_every
                    if self.leading:
                        self.dispatcher.admit_once()
                except Exception as exc:  # noqa: BLE001 - Redis or the database away: try again next tick
                    if time.monotonic() - last_warning >= WARN_EVERY_S:
                        last_warning = time.monotonic()
                        log.warning("dispatch loop: %s: %s", type(exc).__name__, exc)
                stopped.wait(self.settings.fair_tick_s)
        finally:
            if self.leading:
                try:
                    self.lease.release()
                except Exception:  # noqa: BLE001 - Redis away at shutdown: the lease expires by itself
                    pass

    def _set_leading(self, leading: bool) -> None:
        if leading != self.leading:
            log.info("this node %s the dispatcher", "is now" if leading else "is no longer")
            if leading:
                self.dispatcher = Dispatcher(self.settings)  # credit of an earlier term is stale
        self.leading = leading


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the worker node's main process dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn() -> subprocess.Popen:
    """Start this node's dispatch process (the worker bootstep calls it)."""
    return subprocess.Popen([sys.executable, "-m", "brain.scheduling.dispatch_loop"], preexec_fn=_die_with_parent)


def main() -> None:
    from brain import logging as brain_logging
    from brain.celery import app  # noqa: F401 - the Celery app admitted missions are published with
    from brain.config import get_settings

    settings = get_settings()
    brain_logging.configure("dispatcher", settings.log_level, settings.log_format)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    DispatchLoop(settings).run(stopped)


if __name__ == "__main__":
    main()
