"""The retry rail: a retryable agent error runs again after an exponential, jittered backoff."""

from __future__ import annotations

import random

import marshmallow as ma

from brain.config.parsers import _float, _int
from brain.config.settings import declare, setting
from brain.rails.base import Outcome, Rail, RunState


def backoff_s(attempt: int, base: float, cap: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; never zero for a positive base."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(base / 10, random.uniform(0, ceiling)) if ceiling > 0 else 0.0


declare(
    "neurorail",
    neurorail_max_retries=setting(
        "NEURORAIL_MAX_RETRIES",
        _int(0, 100),
        "Default retries of a retryable agent error (mission option max_retries overrides)",
        2,
    ),
    neurorail_retry_backoff_s=setting(
        "NEURORAIL_RETRY_BACKOFF_S", _float(0.0, 3600.0), "First retry delay; doubles each attempt, with jitter", 1.0
    ),
    neurorail_retry_backoff_max_s=setting(
        "NEURORAIL_RETRY_BACKOFF_MAX_S", _float(0.0, 86400.0), "Largest retry delay", 300.0
    ),
)


class RetryRail(Rail):
    name = "retry"
    options = {
        "max_retries": ma.fields.Integer(
            allow_none=True,
            strict=True,
            validate=ma.validate.Range(min=0, max=100),
            metadata={"description": "Retries of a retryable agent error (default NEURORAIL_MAX_RETRIES)"},
        ),
    }

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        if not outcome.retryable:
            return  # rail errors and plain agent errors are never retried
        limit = state.option("max_retries")
        if limit is None:
            limit = state.settings.neurorail_max_retries
        retries_done = state.mission.attempts - 1
        if retries_done < limit:
            s = state.settings
            outcome.retry_in = backoff_s(
                state.mission.attempts, s.neurorail_retry_backoff_s, s.neurorail_retry_backoff_max_s
            )
