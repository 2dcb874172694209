"""Drop cancelled timers from the worker's event-loop heap, so memory does not grow with tasks run.

With the prefork pool, every task's soft and hard time limits are timers in the main
process's hub. A finished task cancels them, but kombu leaves a cancelled timer in the heap
until the moment it would have fired (celery/celery#1129, #5200): at a few hundred missions
a second and limits of minutes, that is tens of thousands of dead entries and tens of MB.
"""

from __future__ import annotations

import heapq
from typing import Any

from celery import bootsteps

COMPACT_EVERY_S = 30.0


def compact(timer: Any) -> int:
    """Remove cancelled entries from a kombu Timer's heap in place; returns how many."""
    queue = timer._queue  # the hub's loop holds this very list, so it is rewritten in place
    kept = [item for item in queue if not item[2].canceled]
    removed = len(queue) - len(kept)
    if removed:
        queue[:] = kept
        heapq.heapify(queue)
    return removed


class CompactTimers(bootsteps.StartStopStep):
    """Runs `compact` on the hub's timer every COMPACT_EVERY_S, from the hub's own loop."""

    requires = ("celery.worker.components:Hub",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: Any) -> None:
        hub = getattr(worker, "hub", None)
        if hub is not None:  # no hub: solo/threads pools, which set no per-task timers there
            self.tref = hub.call_repeatedly(COMPACT_EVERY_S, compact, hub.timer)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
