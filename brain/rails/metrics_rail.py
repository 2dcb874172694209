"""The metrics rail: first in the chain, so it counts every outcome the others produce."""

from __future__ import annotations

from brain.rails import metrics as m
from brain.rails.base import Outcome, Rail, RunState
from brain.tenancy import tenant_metrics


class MetricsRail(Rail):
    name = "metrics"
    module = "metrics"

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        self._count(state, outcome)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        self._count(state, outcome)

    @staticmethod
    def _count(state: RunState, outcome: Outcome) -> None:
        agent = state.mission.agent
        label = (
            "retried" if outcome.retry_in is not None else ("deferred" if outcome.deferred_until else outcome.status)
        )
        m.ATTEMPTS.labels(agent, label).inc()
        code = (outcome.error or {}).get("code", "")
        if code.startswith("NR-E"):
            m.ATTEMPTS_FAILED.labels(code).inc()
        if outcome.status == "timed_out":
            m.TIMEOUTS.inc()
        if state.ctx is not None:
            if state.ctx.usage.tokens:
                m.TOKENS_USED.labels(agent).inc(state.ctx.usage.tokens)
                tenant_metrics.count(state.settings, state.mission.tenant, tokens=state.ctx.usage.tokens)
            if state.ctx.usage.cost_usd:
                m.COST_USED.labels(agent).inc(state.ctx.usage.cost_usd)
