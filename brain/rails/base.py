"""The Rail base class (no-op hooks, declared options) and the state a run carries through the chain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import marshmallow as ma

from brain.errors import RailError
from brain.rails import metrics as rail_metrics

if TYPE_CHECKING:
    import redis

    from brain.agents.context import RunContext
    from brain.config import Settings
    from brain.models import Mission
    from brain.rails.rollout import Enforcement


class Defer(Exception):
    """Do not run now, try again at `until` (stays queued, no attempt used).

    Raised by a rail in before_run, or by an agent that found a shared limit spent before
    doing anything (brain/agents/provider_quota.py).
    """

    def __init__(self, until: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


@dataclass
class Outcome:
    """What happened to one attempt; rails may amend it in after_run (retry, would_have)."""

    status: str
    result: Any = None
    error: dict[str, Any] | None = None
    retryable: bool = False
    retry_in: float | None = None
    deferred_until: dt.datetime | None = None
    deferred_reason: str = ""
    duration_s: float = 0.0
    rail_caused: bool = False  # an enforced rail stopped it (counts for the rollback guard)

    @classmethod
    def of(cls, exc: RailError, **fields: Any) -> Outcome:
        """The outcome a NeuroRail failure ends the attempt with."""
        return cls(exc.status, error=exc.as_error(), **fields)


@dataclass
class PublishState:
    """A mission about to be published: rails set what its Celery message carries."""

    mission: Mission
    settings: Settings
    enforcement: Enforcement
    message: dict[str, Any] = field(default_factory=dict)  # send_task() options


@dataclass
class RunState:
    """Everything rails see about the attempt in progress."""

    mission: Mission
    settings: Settings
    redis: redis.Redis
    enforcement: Enforcement
    ctx: RunContext | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    would_have: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def observe(self, failure: type[RailError], rail: str) -> None:
        """Record a violation an observe-only rail did not enforce."""
        if failure.code not in self.would_have:
            self.would_have.append(failure.code)
        rail_metrics.WOULD_HAVE_BLOCKED.labels(rail).inc()

    def option(self, name: str, default: Any = None) -> Any:
        return (self.mission.options or {}).get(name, default)


class Rail:
    """A hook object; subclasses override what they need. Order is set by the chain."""

    name: ClassVar[str]
    # The BRAiN module the rail belongs to: with it off (BRAIN_MODULES) the rail does nothing.
    module: ClassVar[str] = "neurorail"
    # Mission options this rail reads: name -> marshmallow field (validated at enqueue).
    options: ClassVar[dict[str, ma.fields.Field]] = {}
    # The setting (a Settings field) that switches this rail's enforcement; None: no flag.
    flag: ClassVar[str | None] = None
    # With the flag off the rail only observes; True: it does nothing at all.
    flag_switches_off: ClassVar[bool] = False

    def before_publish(self, state: PublishState) -> None:
        """Before the mission's message is sent (API, sweeper, retries); sets message options."""

    def before_run(self, state: RunState) -> None:
        """Before the agent runs; may raise RailError (refuse) or Defer (try later)."""

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        """After the agent ran (reverse order); settle, record, amend the outcome."""

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        """When the agent did not run (a rail refused or deferred); release what was taken."""
