"""The rail chain: hook order, declared options, a rail's own bug never breaks a mission."""

from __future__ import annotations

from types import SimpleNamespace

import marshmallow as ma
import pytest

from brain.config import load_settings
from brain.errors import OverBudget
from brain.rails import RailChain, default_chain
from brain.rails import metrics as rail_metrics
from brain.rails.base import Outcome, Rail
from brain.rails.retry import backoff_s
from brain.rails.rollout import Enforcement, in_canary, previous_stage

# The chain reads only the run's settings (which modules are on) before handing the state to rails.
STATE = SimpleNamespace(settings=load_settings({"BRAIN_DATA_DIR": "/tmp/brain-unit"}))


class Recorder(Rail):
    def __init__(self, name: str, calls: list[str], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def before_run(self, state):
        self.calls.append(f"before:{self.name}")
        if self.fail:
            raise KeyError("bug in a rail")

    def after_run(self, state, outcome):
        self.calls.append(f"after:{self.name}")


def test_before_in_order_after_in_reverse():
    calls: list[str] = []
    chain = RailChain([Recorder("a", calls), Recorder("b", calls), Recorder("c", calls)])
    chain.before_run(STATE)
    chain.after_run(STATE, Outcome("succeeded"))
    assert calls == ["before:a", "before:b", "before:c", "after:c", "after:b", "after:a"]


def test_a_rails_bug_is_counted_not_fatal():
    calls: list[str] = []
    before = rail_metrics.RAIL_ERRORS.labels("b", "before_run")._value.get()
    chain = RailChain([Recorder("a", calls), Recorder("b", calls, fail=True), Recorder("c", calls)])
    chain.before_run(STATE)
    assert calls == ["before:a", "before:b", "before:c"]
    assert rail_metrics.RAIL_ERRORS.labels("b", "before_run")._value.get() == before + 1


def test_rail_error_stops_the_chain():
    class Refuse(Rail):
        name = "refuse"

        def before_run(self, state):
            raise OverBudget("no")

    calls: list[str] = []
    chain = RailChain([Refuse(), Recorder("later", calls)])
    with pytest.raises(OverBudget):
        chain.before_run(STATE)
    assert calls == []


def test_two_rails_cannot_declare_one_option():
    class A(Rail):
        name = "a"
        options = {"knob": ma.fields.Integer()}

    class B(Rail):
        name = "b"
        options = {"knob": ma.fields.Integer()}

    with pytest.raises(ValueError, match="knob"):
        RailChain([A(), B()])
    with pytest.raises(ValueError, match="name"):
        RailChain([type("C", (Rail,), {"name": "c", "options": {"name": ma.fields.String()}})()])


def test_default_chain_declares_the_mission_options():
    assert set(default_chain().option_fields) == {"timeout_s", "start_within_s", "budget", "max_retries"}
    assert [r.name for r in default_chain().rails] == ["metrics", "timeout", "reflex", "budget", "retry"]


def test_canary_is_stable_and_proportional():
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(2000)]
    assert all(in_canary(i, 100) for i in ids) and not any(in_canary(i, 0) for i in ids)
    share = sum(in_canary(i, 10) for i in ids) / len(ids)
    assert 0.05 < share < 0.15
    assert [in_canary(i, 50) for i in ids[:50]] == [in_canary(i, 50) for i in ids[:50]]


def test_modes_by_phase_flag_and_canary():
    def mode(phase: int, canary: bool, flag: bool = True, rail: str = "budget") -> str:
        value = "true" if flag else "false"
        settings = load_settings(
            {"NEURORAIL_ENABLE_BUDGET_ENFORCEMENT": value, "NEURORAIL_ENABLE_REFLEX_SYSTEM": value}
        )
        chosen = next(r for r in default_chain().rails if r.name == rail)
        return Enforcement(phase, 100, canary, settings).mode(chosen)

    assert mode(0, True) == "off"
    assert mode(1, True) == "observe"
    assert mode(2, True) == "enforce"
    assert mode(2, False) == "observe"
    assert mode(2, True, flag=False) == "observe"
    assert mode(2, True, flag=False, rail="reflex") == "off"


def test_rollback_stages_and_backoff():
    assert [previous_stage(p) for p in (100, 50, 10, 0, 75)] == [50, 10, 0, 0, 50]
    delays = [backoff_s(attempt, 1.0, 8.0) for attempt in range(1, 8) for _ in range(20)]
    assert all(0.1 <= d <= 8.0 for d in delays)
