"""run_mission(mission_id, tenant): executes one mission on a worker."""

from __future__ import annotations

from brain.celery import app
from brain.config import get_settings
from brain.dispatch import RUN_MISSION
from brain.errors import DependencyUnavailable
from brain.runner import execute

CLAIM_RETRY_MAX_S = 30


@app.task(name=RUN_MISSION, bind=True)
def run_mission(self, mission_id: str, tenant: str | None = None) -> None:
    soft = self.request.timelimit[1] if self.request.timelimit else None
    settings = get_settings()
    try:
        execute(settings, mission_id, self.request.hostname or "worker", soft or settings.default_timeout_s, tenant)
    except DependencyUnavailable as exc:
        # The claim did not happen, so nothing ran: deliver the message again, backing off.
        raise self.retry(countdown=min(CLAIM_RETRY_MAX_S, 2**self.request.retries), max_retries=None, exc=exc) from None
