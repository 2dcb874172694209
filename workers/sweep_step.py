"""The worker bootstep that runs the recovery loop and the fair admission loop in every worker node."""

from __future__ import annotations

from typing import Any

from celery import bootsteps

from brain.config import get_settings
from brain.scheduling import policy as fair_policy
from brain.scheduling.dispatch_loop import DispatchLoop
from brain.sweep_leader import SweepLoop


class RecoveryLoop(bootsteps.StartStopStep):
    """Started with the worker's main process, after the pool; stopped (lease released) at shutdown."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.loop: SweepLoop | None = None
        self.admission: DispatchLoop | None = None

    def start(self, worker: Any) -> None:
        settings = get_settings()
        self.loop = SweepLoop(settings)
        self.loop.start()
        if fair_policy.enabled(settings):
            self.admission = DispatchLoop(settings)
            self.admission.start()

    def stop(self, worker: Any) -> None:
        if self.admission is not None:
            self.admission.stop()
            self.admission = None
        if self.loop is not None:
            self.loop.stop()
            self.loop = None
