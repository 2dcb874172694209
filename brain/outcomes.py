"""Persisting an attempt's outcome: final status, a deferral, or a retry (then publish again)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from brain import metrics
from brain.db import session_scope, utcnow
from brain.rails.base import Outcome, RunState
from brain.rails.rollout import record_outcome
from brain.services import audit, execution

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("brain.runner")


def persist(state: RunState, outcome: Outcome, app: Celery | None) -> None:
    mission, settings = state.mission, state.settings
    usage = None
    if state.ctx is not None:
        usage = {"tokens": state.ctx.usage.tokens, "cost_usd": round(state.ctx.usage.cost_usd, 6)}
    with session_scope(settings.database_url) as session:
        if outcome.deferred_until is not None:
            moved = execution.defer(session, mission, outcome.deferred_until, state.would_have)
        elif outcome.retry_in is not None:
            moved = execution.retry(session, mission, outcome.error, usage, state.would_have, outcome.retry_in)
        else:
            moved = execution.finish(session, mission, outcome.status, result=outcome.result, error=outcome.error,
                                     attempt=mission.attempts, usage=usage, would_have=state.would_have)
        for type_, data in state.events:
            audit.record(session, type_, mission.id, tenant=mission.tenant, data=data)
    if not moved:
        return  # cancelled meanwhile, or another attempt owns it
    if outcome.deferred_until is not None or outcome.retry_in is not None:
        _publish_later(state, outcome, app)
        return
    metrics.MISSIONS_FINISHED.labels(mission.agent, outcome.status).inc()
    metrics.MISSION_DURATION.labels(mission.agent).observe(outcome.duration_s)
    record_outcome(state.redis, settings, outcome.rail_caused)


def _publish_later(state: RunState, outcome: Outcome, app: Celery | None) -> None:
    from brain.dispatch import publish

    if outcome.deferred_until is not None:
        delay = max(0.0, (outcome.deferred_until - utcnow()).total_seconds())
    else:
        delay = outcome.retry_in or 0.0
    if app is None:
        return  # the sweeper publishes queued rows whose dispatched_at is unset
    try:
        publish(app, state.settings, state.mission, countdown=delay)
    except Exception as exc:  # noqa: BLE001 - the sweeper will pick it up
        log.warning("could not re-publish mission %s (%s); the sweeper will", state.mission.id, exc)
        with session_scope(state.settings.database_url) as session:
            execution.clear_dispatched(session, state.mission.id)

