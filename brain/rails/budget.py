"""The budget rail: reserve before the run, charge as the agent reports usage, settle at the end."""

from __future__ import annotations

import marshmallow as ma

from brain.errors import OverBudget
from brain.rails import metrics as m
from brain.rails.base import Outcome, Rail, RunState
from brain.rails.rollout import ENFORCE, OFF
from brain.services import budgets
from brain.services.budgets import Scope


class BudgetSchema(ma.Schema):
    max_tokens = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=10**12), allow_none=True)
    max_cost_usd = ma.fields.Float(validate=ma.validate.Range(min=0, max=1e9, min_inclusive=False), allow_none=True)


class BudgetRail(Rail):
    name = "budget"
    options = {
        "budget": ma.fields.Nested(
            BudgetSchema, allow_none=True,
            metadata={"description": "Per-mission caps; a charge that would cross one stops the mission (NR-E002)"},
        ),
    }

    def scopes(self, state: RunState) -> list[Scope]:
        mission = state.mission
        out = []
        own = state.option("budget") or {}
        if own.get("max_tokens") or own.get("max_cost_usd"):
            # The submitter asked for this cap: enforced in every phase.
            ttl = state.settings.max_timeout_s + 86400
            out.append(Scope("mission", f"{budgets.PREFIX}mission:{mission.id}", own.get("max_tokens") or 0,
                             own.get("max_cost_usd") or 0.0, True, ttl))
        mode = state.enforcement.mode("budget")
        if mode != OFF:
            out += budgets.tenant_scopes(state.settings, mission.tenant, enforce=mode == ENFORCE)
        return out

    def before_run(self, state: RunState) -> None:
        scopes = self.scopes(state)
        if not scopes:
            return
        own = state.option("budget") or {}
        s = state.settings
        tokens = own.get("max_tokens") or s.neurorail_budget_estimate_tokens
        cost = own.get("max_cost_usd") or s.neurorail_budget_estimate_cost_usd
        denied, observed = budgets.reserve(state.redis, str(state.mission.id), scopes, tokens, cost)
        self._observe(state, observed)
        if denied is not None:
            m.BUDGET_VIOLATIONS.labels(denied.label).inc()
            raise OverBudget(f"{denied.label} budget has no room for this mission's estimate")
        state.notes["budget"] = scopes
        state.events.append(("budget.reserved", {"tokens": tokens, "cost_usd": cost,
                                                 "scopes": [sc.label for sc in scopes]}))
        if state.ctx is not None:
            state.ctx.on_charge = lambda t, c: self._charge(state, t, c)

    def _charge(self, state: RunState, tokens: int, cost: float) -> None:
        scopes = state.notes["budget"]
        denied, observed = budgets.charge(state.redis, str(state.mission.id), scopes, tokens, cost)
        self._observe(state, observed)
        if denied is not None:
            m.BUDGET_VIOLATIONS.labels(denied.label).inc()
            state.events.append(("budget.violation", {"scope": denied.label, "tokens": tokens, "cost_usd": cost}))
            raise OverBudget(f"charge of {tokens} tokens / ${cost:.4f} would cross the {denied.label} budget")

    def _observe(self, state: RunState, observed: list[Scope]) -> None:
        for sc in observed:
            m.BUDGET_VIOLATIONS.labels(sc.label).inc()
            state.observe(OverBudget, self.name)

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        self._settle(state)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        self._settle(state)

    @staticmethod
    def _settle(state: RunState) -> None:
        scopes = state.notes.pop("budget", None)
        if scopes:
            budgets.settle(state.redis, str(state.mission.id), scopes)
