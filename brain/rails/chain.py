"""The rail chain: before_* in order, after_* in reverse; a rail's own bug is logged, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import marshmallow as ma

from brain.errors import RailError
from brain.rails import metrics as rail_metrics
from brain.rails.base import Defer, Outcome, Rail, RunState

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

    def before_run(self, state: RunState) -> None:
        for rail in self.rails:
            self._call(rail, "before_run", state)

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        for rail in reversed(self.rails):
            self._call(rail, "after_run", state, outcome)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        for rail in reversed(self.rails):
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


_default: RailChain | None = None


def default_chain() -> RailChain:
    """metrics, timeout, reflex, budget, retry: the first rail sees everything."""
    global _default
    if _default is None:
        from brain.rails.budget import BudgetRail
        from brain.rails.metrics_rail import MetricsRail
        from brain.rails.reflex import ReflexRail
        from brain.rails.retry import RetryRail
        from brain.rails.timeout import TimeoutRail

        _default = RailChain([MetricsRail(), TimeoutRail(), ReflexRail(), BudgetRail(), RetryRail()])
    return _default
