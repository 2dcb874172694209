"""Running one mission on a worker: claim, lease, rail chain around the agent, persist the outcome."""

from __future__ import annotations

import json
import logging
import time
import uuid

import redis
from billiard.exceptions import SoftTimeLimitExceeded

from brain import green, metrics
from brain.agents import MissionCancelled, RunContext, get_agent
from brain.config import Settings
from brain.db import UNAVAILABLE, session_scope
from brain.errors import (
    AgentFailed,
    CircuitOpen,
    DependencyUnavailable,
    OverBudget,
    RailError,
    RetryableAgentError,
    TimedOut,
)
from brain.governance.admission import recheck as policy_recheck
from brain.lease import LeaseKeeper
from brain.logging import bind as bind_log_context
from brain.models import Mission
from brain.outcomes import persist
from brain.rails import Defer, RunState, default_chain
from brain.rails.base import Outcome
from brain.rails.rollout import Enforcement
from brain.services import execution
from brain.state import cancel_key, get_redis
from brain.tenancy.scope import system_scope, tenant_scope

log = logging.getLogger("brain.runner")

_leases: dict[str, LeaseKeeper] = {}


def _lease_keeper(settings: Settings) -> LeaseKeeper:
    keeper = _leases.get(settings.redis_url)
    if keeper is None:
        keeper = _leases[settings.redis_url] = LeaseKeeper(get_redis(settings), settings.lease_ttl_s)
    return keeper


def observe_claim(mission: Mission) -> None:
    """Queue wait (queued, or re-published, → started) and log context for the rest of the run."""
    queued_at = mission.dispatched_at or mission.created_at
    if queued_at and mission.started_at:
        metrics.MISSION_QUEUE_WAIT.labels(mission.agent).observe(
            max(0.0, (mission.started_at - queued_at).total_seconds())
        )
    bind_log_context(mission_id=mission.id, tenant=mission.tenant, agent=mission.agent)


def _cancel_requested(client: redis.Redis, mission_id: str) -> bool:
    # Redis away for a moment must not fail the agent: the cancel stays recorded in the
    # database and revoked at the broker, and the next check (0.2 s on) sees the flag.
    try:
        return bool(client.exists(cancel_key(mission_id)))
    except redis.RedisError:
        return False


def run_agent(mission: Mission, ctx: RunContext) -> Outcome:
    """Call the agent and translate what happens into an outcome."""
    agent = get_agent(mission.agent)
    if agent is None:
        return Outcome.of(AgentFailed(f"agent {mission.agent!r} is not registered on this worker"))
    try:
        with green.soft_limit(ctx.remaining()):
            result = agent.run(ctx, mission.payload)
        json.dumps(result)  # the result column is JSON: refuse what cannot be stored
        return Outcome("succeeded", result=result)
    except SoftTimeLimitExceeded:
        return Outcome.of(TimedOut("time limit exceeded"))
    except MissionCancelled:
        return Outcome("cancelled", error={"code": "cancelled", "message": "cancelled by request"})
    except Defer as exc:  # the agent found a shared limit spent (a provider quota): run again later
        return Outcome("queued", deferred_until=exc.until, deferred_reason=exc.reason)
    except RailError as exc:
        return Outcome.of(exc)
    except RetryableAgentError as exc:
        return Outcome.of(AgentFailed.from_exception(exc), retryable=True)
    except Exception as exc:  # noqa: BLE001 - any agent failure is AgentFailed
        return Outcome.of(AgentFailed.from_exception(exc))


def execute(
    settings: Settings, mission_id: str, worker: str, soft_limit_s: float, tenant: str | None = None
) -> Outcome | None:
    """Run mission `mission_id` unless it is no longer queued (then do nothing).

    `tenant`, which the message names, scopes the claim to that tenant's rows; a message
    without it (published by an older version) is claimed in the system scope.

    Raises DependencyUnavailable when the database cannot take the claim: nothing ran.
    """
    try:
        claim_scope = tenant_scope(tenant) if tenant else system_scope("claim")
        with claim_scope, session_scope(settings.database_url) as session:
            mission = execution.claim(session, uuid.UUID(mission_id), worker)
            held = mission is None and execution.hold(session, uuid.UUID(mission_id), worker)
    except UNAVAILABLE as exc:
        raise DependencyUnavailable(f"database unavailable, mission {mission_id} not claimed: {exc}") from None
    if mission is None:
        why = "held: its tenant is suspended" if held else "is not queued; duplicate message ignored"
        log.info("mission %s %s", mission_id, why)
        return None
    with tenant_scope(mission.tenant):
        return _execute_claimed(settings, mission, soft_limit_s)


def _execute_claimed(settings: Settings, mission: Mission, soft_limit_s: float) -> Outcome:
    mission_id = str(mission.id)
    if (denied := policy_recheck(settings, mission)) is not None:
        return Outcome("rejected", error=denied)  # the policy set changed and now denies it
    observe_claim(mission)
    client = get_redis(settings)
    state = RunState(mission, settings, client, Enforcement.for_mission(settings, client, mission_id))
    state.ctx = RunContext(
        mission_id=mission_id,
        attempt=mission.attempts,
        deadline=time.monotonic() + soft_limit_s,
        is_cancelled=lambda: _cancel_requested(client, mission_id),
        log=logging.getLogger(f"brain.agent.{mission.agent}"),
        tenant=mission.tenant,
    )
    leases = _lease_keeper(settings)
    leases.acquire(mission_id)
    try:
        outcome = _run_chain(state)
        # Under the lease: until the outcome is committed the mission is still running.
        persist(state, outcome)
    finally:
        leases.release(mission_id)
    return outcome


def _run_chain(state: RunState) -> Outcome:
    chain = default_chain()
    started = time.monotonic()
    try:
        chain.before_run(state)
    except Defer as exc:
        outcome = Outcome("queued", deferred_until=exc.until, deferred_reason=exc.reason)
        chain.after_skip(state, outcome)
        return outcome
    except RailError as exc:
        outcome = Outcome.of(exc, rail_caused=True)
        chain.after_skip(state, outcome)
        return outcome
    outcome = run_agent(state.mission, state.ctx)
    outcome.duration_s = time.monotonic() - started
    error = outcome.error
    # A time limit the user set is not the rail's doing; the default one is.
    outcome.rail_caused = (
        OverBudget.matches(error)
        or CircuitOpen.matches(error)
        or (TimedOut.matches(error) and not state.mission.timeout_s)
    )
    chain.after_run(state, outcome)
    return outcome
