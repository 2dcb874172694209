"""The worker bootstep that runs the recovery loop and the fair admission loop in every worker node."""

from __future__ import annotations

import subprocess
from typing import Any

from celery import bootsteps

from brain.config import get_settings
from brain.scheduling import dispatch_loop
from brain.scheduling import policy as fair_policy
from brain.sweep_leader import SweepLoop


class RecoveryLoop(bootsteps.StartStopStep):
    """Started with the worker's main process, after the pool; stopped (lease released) at shutdown."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.loop: SweepLoop | None = None
        self.admission: subprocess.Popen | None = None

    def start(self, worker: Any) -> None:
        settings = get_settings()
        self.loop = SweepLoop(settings)
        self.loop.start()
        if fair_policy.enabled(settings):
            self.admission = dispatch_loop.spawn()

    def stop(self, worker: Any) -> None:
        if self.admission is not None:
            self.admission.terminate()  # it releases the dispatch lease, so another node takes over at once
            try:
                self.admission.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.admission.kill()
            self.admission = None
        if self.loop is not None:
            self.loop.stop()
            self.loop = None
