"""The reflex rail: a circuit breaker per agent (or tenant+agent), shared by every worker via Redis."""

from __future__ import annotations

import datetime as dt
import logging

from brain.errors import AgentFailed, CircuitOpen, TimedOut
from brain.rails import metrics as m
from brain.rails.base import Defer, Outcome, Rail, RunState
from brain.rails.rollout import ENFORCE, OFF
from brain.services import breakers

log = logging.getLogger("brain.neurorail.reflex")

FAILURES = (AgentFailed, TimedOut)  # the agent's health; over budget, cancelled, expired are not


def breaker_name(state: RunState) -> str:
    mission = state.mission
    if state.settings.neurorail_reflex_scope == "tenant_agent":
        return f"{mission.tenant}:{mission.agent}"
    return mission.agent


def outcome_kind(outcome: Outcome) -> str:
    if outcome.status == "succeeded":
        return "success"
    if any(failure.matches(outcome.error) for failure in FAILURES):
        return "failure"
    return "neutral"  # over budget, cancelled, expired: not the agent's health


class ReflexRail(Rail):
    name = "reflex"

    def before_run(self, state: RunState) -> None:
        mode = state.enforcement.mode("reflex")
        if mode == OFF:
            return
        s = state.settings
        name = breaker_name(state)
        # A probe whose worker died is taken over after its hard limit has surely passed.
        verdict = breakers.check(state.redis, name, str(state.mission.id), s.max_timeout_s + s.time_limit_grace_s)
        state.notes["reflex"] = {"name": name, "verdict": verdict.verdict}
        if verdict.transition:
            self._transition(state, name, verdict.transition)
        if verdict.verdict == "probe":
            m.REFLEX_ACTIONS.labels("probe").inc()
            state.events.append(("reflex.probe", {"breaker": name}))
        if verdict.verdict != "deny":
            return
        if mode != ENFORCE:
            state.observe(CircuitOpen, self.name)
            return
        until = dt.datetime.fromtimestamp(verdict.open_until, dt.UTC)
        if s.neurorail_reflex_on_open == "fail":
            m.REFLEX_ACTIONS.labels("failed_fast").inc()
            raise CircuitOpen(f"circuit {name} is open until {until.isoformat()}")
        m.REFLEX_ACTIONS.labels("deferred").inc()
        raise Defer(until, f"circuit {name} is open")

    def after_run(self, state: RunState, outcome: Outcome) -> None:
        kind = outcome_kind(outcome)
        note = state.notes.get("reflex")
        if kind == "success" and note and note["verdict"] == "allow":
            return  # a success on a closed circuit changes nothing: save the round trip
        self._record(state, kind)

    def after_skip(self, state: RunState, outcome: Outcome) -> None:
        note = state.notes.get("reflex")
        if note and note["verdict"] == "probe":
            self._record(state, "neutral")  # release the probe slot for someone else

    def _record(self, state: RunState, kind: str) -> None:
        note = state.notes.get("reflex")
        if not note:
            return
        s = state.settings
        transition = breakers.record(state.redis, note["name"], str(state.mission.id), kind,
                                     s.neurorail_reflex_failures, s.neurorail_reflex_window_s,
                                     s.neurorail_reflex_cooldown_s)
        if transition:
            self._transition(state, note["name"], transition)

    @staticmethod
    def _transition(state: RunState, name: str, transition: str) -> None:
        event = {"opened": "reflex.opened", "reopened": "reflex.opened", "half_open": "reflex.half_open",
                 "closed": "reflex.closed"}[transition]
        m.REFLEX_ACTIONS.labels(transition).inc()
        state.events.append((event, {"breaker": name}))
        log.warning("circuit %s %s", name, transition)
