"""The time-limit rail: per-message soft/hard limits, observe-mode overruns, start_within_s expiry."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

from brain.config import Settings
from brain.db import utcnow
from brain.errors import Expired, TimedOut
from brain.rails.base import Outcome, Rail, RunState
from brain.rails.rollout import ENFORCE, Enforcement


def default_limit(settings: Settings, agent_name: str) -> int:
    """The agent's default, else the profile's."""
    from brain.agents import get_agent

    agent = get_agent(agent_name)
    if agent is not None and agent.default_timeout_s:
        return min(agent.default_timeout_s, settings.max_timeout_s)
    return settings.default_timeout_s


def message_limits(settings: Settings, agent: str, timeout_s: int | None, enforcement: Enforcement) -> tuple[int, int]:
    """(soft, hard) seconds for the Celery message.

    An explicit timeout_s is always enforced. The default limit is enforced only when the
    rail enforces; otherwise the largest allowed limit is the ceiling (the broker's
    visibility timeout is sized for it) and overruns are only recorded.
    """
    if timeout_s:
        soft = timeout_s
    elif enforcement.mode("timeout") == ENFORCE:
        soft = default_limit(settings, agent)
    else:
        soft = settings.max_timeout_s
    return soft, soft + settings.time_limit_grace_s


class TimeoutRail(Rail):
    name = "timeout"
    options = {
        "timeout_s": ma.fields.Integer(
            allow_none=True, strict=True, validate=ma.validate.Range(min=1, max=86400),
            metadata={"description": "Soft time limit in seconds (hard limit BRAIN_TIME_LIMIT_GRACE_S later)"},
        ),
        "start_within_s": ma.fields.Integer(
            allow_none=True, strict=True, validate=ma.validate.Range(min=1, max=30 * 86400),
            metadata={"description": "Schedule-to-start deadline: not started by then → expired (NR-E006)"},
        ),
    }

    def before_run(self, state: RunState) -> None:
        start_within = state.option("start_within_s")
        if start_within and utcnow() > state.mission.created_at + dt.timedelta(seconds=start_within):
            # The user asked for it: enforced in every phase.
            raise Expired(f"not started within {start_within} s of submission")

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        mission = state.mission
        if mission.timeout_s or state.enforcement.mode("timeout") != "observe":
            return
        if outcome.duration_s > default_limit(state.settings, mission.agent):
            state.observe(TimedOut, self.name)
