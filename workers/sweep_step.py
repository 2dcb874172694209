"""The worker bootstep that runs the recovery loop (brain/sweep_leader.py) in every worker node."""

from __future__ import annotations

from typing import Any

from celery import bootsteps

from brain.config import get_settings
from brain.sweep_leader import SweepLoop


class RecoveryLoop(bootsteps.StartStopStep):
    """Started with the worker's main process, after the pool; stopped (lease released) at shutdown."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.loop: SweepLoop | None = None

    def start(self, worker: Any) -> None:
        self.loop = SweepLoop(get_settings())
        self.loop.start()

    def stop(self, worker: Any) -> None:
        if self.loop is not None:
            self.loop.stop()
            self.loop = None
