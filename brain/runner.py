"""Running one mission on a worker: claim, lease, agent, outcome, final compare-and-set."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded

from brain import metrics
from brain.agents import MissionCancelled, RunContext, get_agent
from brain.config import Settings
from brain.db import session_scope
from brain.errors import RailError
from brain.lease import LeaseKeeper
from brain.models import Mission
from brain.services import execution
from brain.state import cancel_key, get_redis

log = logging.getLogger("brain.runner")


@dataclass
class Outcome:
    status: str
    result: Any = None
    error: dict[str, Any] | None = None


_leases: dict[str, LeaseKeeper] = {}


def _lease_keeper(settings: Settings) -> LeaseKeeper:
    keeper = _leases.get(settings.redis_url)
    if keeper is None:
        keeper = _leases[settings.redis_url] = LeaseKeeper(get_redis(settings), settings.lease_ttl_s)
    return keeper


def run_agent(mission: Mission, ctx: RunContext) -> Outcome:
    """Call the agent and translate what happens into a final status."""
    agent = get_agent(mission.agent)
    if agent is None:
        message = f"agent {mission.agent!r} is not registered on this worker"
        return Outcome("failed", error={"code": "NR-E004", "message": message})
    try:
        result = agent.run(ctx, mission.payload)
        json.dumps(result)  # the result column is JSON: refuse what cannot be stored
        return Outcome("succeeded", result=result)
    except SoftTimeLimitExceeded:
        return Outcome("timed_out", error={"code": "NR-E001", "message": "time limit exceeded"})
    except MissionCancelled:
        return Outcome("cancelled", error={"code": "cancelled", "message": "cancelled by request"})
    except RailError as exc:
        return Outcome(exc.status, error={"code": exc.code, "message": exc.message})
    except Exception as exc:  # noqa: BLE001 - any agent failure becomes NR-E004
        return Outcome("failed", error={"code": "NR-E004", "message": f"{type(exc).__name__}: {exc}"})


def execute(settings: Settings, mission_id: str, worker: str, soft_limit_s: float) -> Outcome | None:
    """Run mission `mission_id` unless it is no longer queued (then do nothing)."""
    mid = uuid.UUID(mission_id)
    with session_scope(settings.database_url) as session:
        mission = execution.claim(session, mid, worker)
    if mission is None:
        log.info("mission %s is not queued; duplicate message ignored", mission_id)
        return None
    client = get_redis(settings)
    leases = _lease_keeper(settings)
    leases.acquire(mission_id)
    started = time.monotonic()
    ctx = RunContext(
        mission_id=mission_id,
        attempt=mission.attempts,
        deadline=started + soft_limit_s,
        is_cancelled=lambda: bool(client.exists(cancel_key(mission_id))),
        log=logging.getLogger(f"brain.agent.{mission.agent}"),
    )
    try:
        outcome = run_agent(mission, ctx)
        usage = {"tokens": ctx.usage.tokens, "cost_usd": round(ctx.usage.cost_usd, 6)}
        with session_scope(settings.database_url) as session:
            moved = execution.finish(session, mission, outcome.status, result=outcome.result,
                                     error=outcome.error, attempt=mission.attempts, usage=usage)
    finally:
        leases.release(mission_id)
    if moved:
        metrics.MISSIONS_FINISHED.labels(mission.agent, outcome.status).inc()
        metrics.MISSION_DURATION.labels(mission.agent).observe(time.monotonic() - started)
    return outcome
