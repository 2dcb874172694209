"""The sweeper: publish missions whose message was lost, requeue missions whose worker died."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

import redis

from brain import outcome_stash
from brain.agents import get_agent
from brain.config import Settings
from brain.db import session_scope, utcnow
from brain.dispatch import MISSION_QUEUES, queue_depths
from brain.errors import RailError, TimedOut, WorkerLost
from brain.lease import lease_alive
from brain.outcomes import write_stashed
from brain.pipelines import cascade
from brain.publisher import publish_after_commit
from brain.rails import default_chain, rollout
from brain.scheduling import policy as fair_policy
from brain.services import approvals, audit, execution
from brain.services.missions import mark_dispatched
from brain.state import LAST_SWEEP_KEY, get_broker_redis, get_redis
from brain.tenancy.scope import system_scope

if TYPE_CHECKING:
    pass

log = logging.getLogger("brain.sweeper")

SWEEP_LOCK = "brain:sweep:lock"
# A row younger than this is probably being published right now by the API.
PUBLISH_GRACE_S = 2


def sweep(settings: Settings) -> dict[str, int]:
    """One pass; several beat processes may race, so one Redis lock lets one sweep at a time."""
    with system_scope("sweep"):
        return _sweep(settings)


def _sweep(settings: Settings) -> dict[str, int]:
    client = get_redis(settings)
    if not client.set(SWEEP_LOCK, "1", nx=True, ex=max(1, settings.sweep_interval_s)):
        return {"skipped": 1}
    try:
        counts = {
            # Stashed outcomes first: a running mission whose outcome waits here is not lost.
            "stashed_outcomes": write_stashed(settings, client),
            "lost_workers": _recover_lost_runs(settings, client),
            "undispatched": _publish_undispatched(settings),
            "stale": _republish_stale(settings, client),
            "approvals_expired": approvals.sweep_expired(settings),
            "rollback": _rollback_guard(settings, client),
            "pipeline_runs": cascade.sweep(settings),
        }
        client.set(LAST_SWEEP_KEY, time.time(), ex=max(60, 10 * settings.sweep_interval_s))
        return counts
    finally:
        client.delete(SWEEP_LOCK)


def _publish_all(settings: Settings, missions: list, reason: str) -> int:
    """Mark them dispatched and publish them after that commits (a failure leaves them to the next sweep)."""
    if not missions:
        return 0
    with session_scope(settings.database_url) as session:
        mark_dispatched(session, [m.id for m in missions])
        for mission in missions:
            publish_after_commit(session, settings, mission, reason=reason)
    log.info("sweeper publishing %d mission(s) (%s)", len(missions), reason)
    return len(missions)


def _publish_undispatched(settings: Settings) -> int:
    if fair_policy.enabled(settings):
        return 0  # unpublished queued missions are the tenants' backlogs: the dispatcher admits them
    cutoff = utcnow() - dt.timedelta(seconds=PUBLISH_GRACE_S)
    with session_scope(settings.database_url) as session:
        missions = execution.undispatched(session, cutoff)
    return _publish_all(settings, missions, "never_published")


def _republish_stale(settings: Settings, client: redis.Redis) -> int:
    # Only when the broker holds nothing: then a long-queued row's message is gone.
    depths = queue_depths(get_broker_redis(settings))
    if any(depths[queue] for queue in MISSION_QUEUES):
        return 0
    cutoff = utcnow() - dt.timedelta(seconds=settings.redispatch_after_s)
    with session_scope(settings.database_url) as session:
        missions = execution.dispatched_before(session, cutoff)
    return _publish_all(settings, missions, "message_lost")


def _recover_lost_runs(settings: Settings, client: redis.Redis) -> int:
    """A running mission without a live lease lost its worker: requeue it, or give up."""
    cutoff = utcnow() - dt.timedelta(seconds=settings.lease_ttl_s)
    with session_scope(settings.database_url) as session:
        running = execution.running_started_before(session, cutoff)
        if not running:
            return 0
        alive = lease_alive(client, [str(m.id) for m in running])
        # Read after the leases: a worker stashes an outcome before it releases the lease.
        stashed = outcome_stash.has(client, [mid for mid, live in alive.items() if not live])
        recovered = 0
        for mission in running:
            if alive[str(mission.id)] or str(mission.id) in stashed:
                continue
            recovered += _recover_one(session, settings, mission)
    return recovered


def _rollback_guard(settings: Settings, client: redis.Redis) -> int:
    change = rollout.guard(client, settings)
    if change is None:
        return 0
    with session_scope(settings.database_url) as session:
        audit.record(session, "rollout.changed", data={"reason": "rollback_guard", **change})
    return 1


def _recover_one(session, settings: Settings, mission) -> int:
    limit = default_chain().message_options(settings, get_redis(settings), mission)["time_limit"]
    if mission.started_at and utcnow() - mission.started_at > dt.timedelta(seconds=limit):
        return _end(session, settings, mission, TimedOut("time limit exceeded (its worker was lost)"))
    if mission.attempts >= settings.max_attempts:
        return _end(session, settings, mission, WorkerLost(f"worker lost {mission.attempts} time(s); giving up"))
    agent = get_agent(mission.agent)
    if agent is not None and not agent.idempotent:
        return _end(
            session,
            settings,
            mission,
            WorkerLost(
                f"worker lost during the run; agent {mission.agent!r} is not "
                "idempotent, so it is not run again (at most once)"
            ),
        )
    log.warning("mission %s lost its worker (attempt %d); requeueing", mission.id, mission.attempts)
    return int(execution.requeue(session, mission, "worker_lost"))


def _end(session, settings: Settings, mission, failure: RailError) -> int:
    moved = execution.finish(
        session, mission, failure.status, error=failure.as_error(), attempt=mission.attempts, settings=settings
    )
    return int(moved)
