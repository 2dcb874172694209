"""The rail chain: before_* in order, after_* in reverse; a rail's own bug is logged, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from brain.errors import RailError
from brain.rails import metrics as rail_metrics
from brain.rails.base import Defer, Outcome, PublishState, Rail, RunState
from brain.rails.rollout import Enforcement

if TYPE_CHECKING:
    import redis

    from brain.config import Settings
    from brain.models import Mission

log = logging.getLogger("brain.neurorail")

BASE_FIELDS = frozenset({"name", "agent", "payload", "priority", "description", "tags"})


class RailChain:
    def __init__(self, rails: Sequence[Rail]) -> None:
        self.rails = tuple(rails)
        self.option_fields = self._collect_options()

    def _collect_options(self) -> dict[str, ma.fields.Field]:
        """Each option belongs to exactly one rail; clashes are a programming error caught at import."""
        fields: dict[str, ma.fields.Field] = {}
        owner: dict[str, str] = {}
        for rail in self.rails:
            for name, fld in rail.options.items():
                if name in BASE_FIELDS or name in fields:
                    raise ValueError(f"rail {rail.name}: option {name!r} already declared by {owner.get(name, 'base')}")
                fields[name], owner[name] = fld, rail.name
        return fields

    def message_options(self, settings: Settings, client: redis.Redis, mission: Mission) -> dict[str, Any]:
        """What the mission's Celery message carries (time limits, ...), as the rails decide."""
        state = PublishState(mission, settings, Enforcement.for_mission(settings, client, str(mission.id)))
        for rail in self.active(settings):
            # Not swallowed like the other hooks: a message without its limits must not be sent.
            rail.before_publish(state)
        return state.message

    def active(self, settings: Settings) -> tuple[Rail, ...]:
        """The rails whose module is enabled, in chain order."""
        return tuple(rail for rail in self.rails if rail.module in settings.modules)

    def before_run(self, state: RunState) -> None:
        for rail in self.active(state.settings):
            self._call(rail, "before_run", state)

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        for rail in reversed(self.active(state.settings)):
            self._call(rail, "after_run", state, outcome)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        for rail in reversed(self.active(state.settings)):
            self._call(rail, "after_skip", state, outcome)

    @staticmethod
    def _call(rail: Rail, hook: str, *args: object) -> None:
        try:
            getattr(rail, hook)(*args)
        except (RailError, Defer):
            raise
        except Exception:
            rail_metrics.RAIL_ERRORS.labels(rail.name, hook).inc()
            log.exception("rail %s failed in %s; continuing", rail.name, hook)
