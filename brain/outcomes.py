"""Persisting an attempt's outcome: final status, a deferral, or a retry (then publish again).

The write is retried while the database is briefly away; if it stays away the outcome is
stashed in Redis (brain/outcome_stash.py) and the sweeper writes it later. Either way a
finished agent is never run a second time because its result could not be recorded.
"""

from __future__ import annotations

import logging
import time

import redis

from brain import metrics, outcome_stash
from brain.config import Settings
from brain.db import UNAVAILABLE, session_scope, utcnow
from brain.outcome_stash import Record
from brain.publisher import publish_after_commit
from brain.rails.base import Outcome, RunState
from brain.rails.rollout import record_outcome
from brain.services import audit, execution
from brain.tenancy import tenant_metrics

log = logging.getLogger("brain.runner")

# In the task, the write is retried this long at most: the task's hard time limit keeps
# running meanwhile, and the stash takes over for a longer outage.
IN_TASK_RETRY_S = 5.0


def record_of(state: RunState, outcome: Outcome) -> Record:
    mission = state.mission
    usage = None
    if state.ctx is not None:
        usage = {"tokens": state.ctx.usage.tokens, "cost_usd": round(state.ctx.usage.cost_usd, 6)}
    return Record(
        mission_id=str(mission.id),
        attempt=mission.attempts,
        tenant=mission.tenant,
        agent=mission.agent,
        priority=mission.priority,
        timeout_s=mission.timeout_s,
        outcome=outcome,
        usage=usage,
        would_have=list(state.would_have),
        events=list(state.events),
    )


def persist(state: RunState, outcome: Outcome) -> None:
    """Write the outcome now (retrying a short outage), else stash it for the sweeper."""
    record = record_of(state, outcome)
    deadline = time.monotonic() + IN_TASK_RETRY_S
    delay = 0.1
    while True:
        try:
            moved = write(state.settings, record)
            break
        except UNAVAILABLE as exc:
            if time.monotonic() + delay > deadline:
                # Stashed before the caller releases the lease, so the sweeper finds it first.
                outcome_stash.put(state.redis, record)
                log.warning(
                    "database unavailable (%s); outcome of mission %s stashed for the sweeper",
                    type(exc).__name__,
                    record.mission_id,
                )
                return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    after_write(state.settings, state.redis, record, moved)


def write(settings: Settings, record: Record) -> bool:
    """The outcome's state change and its audit events, in one transaction; False if someone else moved it.

    Safe to repeat: every change is a compare-and-set on (status running, this attempt).
    """
    mission, outcome = record.mission(), record.outcome
    with session_scope(settings.database_url) as session:
        if outcome.deferred_until is not None:
            moved = execution.defer(
                session, mission, outcome.deferred_until, record.would_have, outcome.deferred_reason
            )
            delay = max(0.0, (outcome.deferred_until - utcnow()).total_seconds())
        elif outcome.retry_in is not None:
            moved = execution.retry(session, mission, outcome.error, record.usage, record.would_have, outcome.retry_in)
            delay = outcome.retry_in
        else:
            moved = execution.finish(
                session,
                mission,
                outcome.status,
                result=outcome.result,
                error=outcome.error,
                attempt=record.attempt,
                usage=record.usage,
                would_have=record.would_have,
                settings=settings,
            )
        if moved and (outcome.deferred_until is not None or outcome.retry_in is not None):
            publish_after_commit(session, settings, mission, countdown=delay)  # queued again: its next run
        # The rails' decisions happened whether or not this attempt still owns the mission.
        for type_, data in record.events:
            audit.record(session, type_, mission.id, tenant=mission.tenant, data=data)
    return moved


def after_write(settings: Settings, client: redis.Redis, record: Record, moved: bool) -> None:
    """Metrics and the rollback guard's sample, for an attempt that ended the mission."""
    outcome = record.outcome
    if not moved or outcome.deferred_until is not None or outcome.retry_in is not None:
        return  # cancelled meanwhile, another attempt owns it, or it is queued again
    tenant_metrics.finished(settings, record.tenant, record.agent, outcome.status)
    metrics.MISSION_DURATION.labels(record.agent).observe(outcome.duration_s)
    record_outcome(client, settings, outcome.rail_caused)


def write_stashed(settings: Settings, client: redis.Redis) -> int:
    """The sweeper's part: write every stashed outcome the database now takes; returns how many."""
    written = 0
    for record in outcome_stash.pending(client):
        try:
            moved = write(settings, record)
        except UNAVAILABLE:
            break  # still away: the next sweep tries again
        outcome_stash.done(client, record.mission_id)
        after_write(settings, client, record, moved)
        written += 1
    return written
