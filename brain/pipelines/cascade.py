"""Ending what an ended run left going: its missions and sub-runs cancelled, each in a transaction of its own.

`cancel_mission` and `cancel_run` run right after the run's transaction commits; `sweep`
(the sweeper's part) finds whatever a crash left between that commit and those cancels,
and any running node whose mission ended without the run hearing of it.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from brain.config import Settings
from brain.db import session_scope
from brain.errors import Conflict, NotFound
from brain.models import Mission
from brain.models.mission import FINAL_STATUSES
from brain.models.pipeline import FINAL_RUN_STATUSES, PipelineNode, PipelineRun
from brain.publisher import celery_app
from brain.services import cancel_signal, execution, missions
from brain.tenancy.scope import tenant_scope

log = logging.getLogger("brain.pipelines")

ACTOR = "pipeline"
BATCH = 500


def cancel_mission(settings: Settings, tenant: str, mission_id: uuid.UUID) -> bool:
    """Cancel one node's mission (queued, awaiting approval or running); False if it had already ended."""
    with tenant_scope(tenant), session_scope(settings.database_url) as session:
        try:
            mission, was_running = missions.cancel_mission(
                session, mission_id, tenant=tenant, actor=ACTOR, settings=settings
            )
        except (Conflict, NotFound):
            return False
    cancel_signal.signal(settings, celery_app(), str(mission_id), mission.agent, was_running)
    return True


def cancel_run(settings: Settings, tenant: str, run_id: uuid.UUID) -> bool:
    """Cancel a sub-pipeline's run whose parent ended; False if it had already ended."""
    from brain.pipelines import runs

    with tenant_scope(tenant), session_scope(settings.database_url) as session:
        try:
            runs.cancel_run(session, settings, run_id, tenant, actor=ACTOR)
        except (Conflict, NotFound):
            return False
    return True


def sweep(settings: Settings) -> int:
    """Repair what a crash left (runs in the system scope of the sweeper); returns how many things it fixed."""
    fixed = 0
    with session_scope(settings.database_url) as session:
        ended_runs = session.execute(
            select(PipelineNode.tenant, PipelineNode.mission_id, PipelineNode.child_run_id)
            .join(PipelineRun, PipelineRun.id == PipelineNode.run_id)
            .where(PipelineRun.status.in_(FINAL_RUN_STATUSES), PipelineNode.status == "running")
            .limit(BATCH)
        ).all()
        unheard = session.execute(
            select(Mission.id, Mission.status, Mission.result, Mission.error, *execution.ENDED)
            .join(PipelineNode, PipelineNode.mission_id == Mission.id)
            .where(PipelineNode.status == "running", Mission.status.in_(FINAL_STATUSES))
            .limit(BATCH)
        ).all()
    for tenant, mission_id, child_run_id in ended_runs:
        if mission_id is not None:
            fixed += cancel_mission(settings, tenant, mission_id)
        elif child_run_id is not None:
            fixed += cancel_run(settings, tenant, child_run_id)
    for row in unheard:
        with session_scope(settings.database_url) as session:
            log.warning("pipeline node of mission %s missed its end (%s); advancing its run", row.id, row.status)
            execution.ended(session, settings, row.id, row, row.status, row.result, row.error)
        fixed += 1
    return fixed
