"""The time-limit rail: per-message soft/hard limits, observe-mode overruns, start_within_s expiry."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

from brain.config.parsers import _bool
from brain.config.settings import declare, setting
from brain.db import utcnow
from brain.errors import Expired, TimedOut
from brain.rails.base import Outcome, PublishState, Rail, RunState
from brain.rails.rollout import ENFORCE, OBSERVE
from brain.time_limits import default_limit, message_limits

declare(
    "neurorail",
    neurorail_enable_timeout_enforcement=setting(
        "NEURORAIL_ENABLE_TIMEOUT_ENFORCEMENT",
        _bool,
        "Enforce default time limits in phase 2 (an explicit timeout_s is always enforced)",
        True,
    ),
)


class TimeoutRail(Rail):
    name = "timeout"
    module = "missions"  # time limits belong to running a mission at all
    flag = "neurorail_enable_timeout_enforcement"
    options = {
        "timeout_s": ma.fields.Integer(
            allow_none=True,
            strict=True,
            validate=ma.validate.Range(min=1, max=86400),
            metadata={"description": "Soft time limit in seconds (hard limit BRAIN_TIME_LIMIT_GRACE_S later)"},
        ),
        "start_within_s": ma.fields.Integer(
            allow_none=True,
            strict=True,
            validate=ma.validate.Range(min=1, max=30 * 86400),
            metadata={"description": "Schedule-to-start deadline: not started by then → expired (NR-E006)"},
        ),
    }

    def before_publish(self, state: PublishState) -> None:
        """The message carries the mission's soft and hard limits; the worker's pool enforces them."""
        mission = state.mission
        soft, hard = message_limits(
            state.settings, mission.agent, mission.timeout_s, state.enforcement.mode(self) == ENFORCE
        )
        state.message.update(soft_time_limit=soft, time_limit=hard)

    def before_run(self, state: RunState) -> None:
        start_within = state.option("start_within_s")
        if start_within and utcnow() > state.mission.created_at + dt.timedelta(seconds=start_within):
            # The user asked for it: enforced in every phase.
            raise Expired(f"not started within {start_within} s of submission")

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        mission = state.mission
        if mission.timeout_s or state.enforcement.mode(self) != OBSERVE:
            return
        if outcome.duration_s > default_limit(state.settings, mission.agent):
            state.observe(TimedOut, self.name)
