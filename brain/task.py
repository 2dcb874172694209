"""BrainTask: the Celery task base class that runs missions and handles hard time limits."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from billiard.exceptions import TimeLimitExceeded
from celery import Task

from brain.config import get_settings
from brain.db import session_scope
from brain.errors import TimedOut
from brain.models import Mission
from brain.services import execution
from brain.state import get_redis, lease_key
from brain.tenancy import tenant_metrics
from brain.tenancy.scope import system_scope

log = logging.getLogger("brain.task")


class BrainTask(Task):
    """Late ack, requeue on worker loss, no result backend: the database holds the state."""

    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        # Celery calls this in the worker's main process when the hard time limit
        # killed the child: nobody else will record the outcome.
        if isinstance(exc, TimeLimitExceeded) and args:
            self._record_hard_timeout(str(args[0]))

    def _record_hard_timeout(self, mission_id: str) -> None:
        settings = get_settings()
        try:
            mid = uuid.UUID(mission_id)
        except ValueError:
            return
        with system_scope("hard_time_limit"), session_scope(settings.database_url) as session:
            mission = session.get(Mission, mid)
            if mission is None:
                return
            killed = TimedOut("hard time limit exceeded; the agent was killed")
            moved = execution.finish(session, mission, killed.status, error=killed.as_error(), settings=settings)
        get_redis(settings).delete(lease_key(mission_id))
        if moved:
            tenant_metrics.finished(settings, mission.tenant, mission.agent, TimedOut.status)
        log.warning("mission %s killed at its hard time limit", mission_id)
