"""run_mission(mission_id): executes one mission on a worker."""

from __future__ import annotations

from brain.celery import app
from brain.config import get_settings
from brain.dispatch import RUN_MISSION
from brain.runner import execute


@app.task(name=RUN_MISSION, bind=True)
def run_mission(self, mission_id: str) -> None:
    soft = self.request.timelimit[1] if self.request.timelimit else None
    settings = get_settings()
    execute(settings, mission_id, self.request.hostname or "worker", soft or settings.default_timeout_s, app=self.app)
