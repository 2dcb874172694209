"""Deficit round-robin: shares follow weight and cost across passes, priorities stay within a tenant's order."""

from __future__ import annotations

from collections import Counter

from brain.scheduling.drr import Backlog, Candidate, DeficitRoundRobin


def _backlog(tenant: str, n: int, weight: float = 1, cost: float = 1, complete: bool = False, room=None) -> Backlog:
    return Backlog([Candidate(f"{tenant}{i}", tenant, cost) for i in range(n)], weight, complete, room)


def _served(drr: DeficitRoundRobin, passes: int, limit: int, make) -> Counter:
    served: Counter = Counter()
    for _ in range(passes):
        for item in drr.pick(make(), limit):
            served[item.tenant] += item.cost
    return served


def test_two_saturating_tenants_are_served_by_weight_across_small_passes():
    served = _served(DeficitRoundRobin(), 200, 3, lambda: {"a": _backlog("a", 50, 3), "b": _backlog("b", 50, 1)})
    assert served["a"] / served["b"] == 3


def test_shares_count_cost_not_missions():
    served = _served(
        DeficitRoundRobin(), 300, 4, lambda: {"big": _backlog("big", 20, cost=8), "small": _backlog("small", 50)}
    )
    assert abs(served["big"] / served["small"] - 1) < 0.1  # equal weights: equal cost, 8x fewer missions


def test_a_small_tenant_is_served_in_the_first_pass_behind_a_huge_backlog():
    drr = DeficitRoundRobin()
    picked = drr.pick({"a": _backlog("a", 20_000), "b": _backlog("b", 1, complete=True)}, 4)
    assert "b" in [c.tenant for c in picked]


def test_each_tenant_keeps_its_own_order():
    picked = DeficitRoundRobin().pick({"a": _backlog("a", 5), "b": _backlog("b", 5)}, 10)
    assert [c.key for c in picked if c.tenant == "a"] == ["a0", "a1", "a2", "a3", "a4"]


def test_an_idle_tenant_saves_no_credit():
    drr = DeficitRoundRobin()
    drr.pick({"a": _backlog("a", 1, weight=5, complete=True), "b": _backlog("b", 10)}, 3)
    assert drr.deficit.get("a", 0) == 0
    drr.pick({"b": _backlog("b", 10)}, 3)
    assert "a" not in drr.deficit


def test_room_caps_a_tenant_and_the_rest_goes_to_others():
    picked = DeficitRoundRobin().pick({"a": _backlog("a", 10, weight=10, room=2), "b": _backlog("b", 10)}, 6)
    counts = Counter(c.tenant for c in picked)
    assert counts == {"a": 2, "b": 4}


def test_costs_above_one_quantum_still_make_progress():
    picked = DeficitRoundRobin().pick({"a": _backlog("a", 3, cost=1000)}, 2)
    assert len(picked) == 2


def test_nothing_waiting_or_no_room_picks_nothing():
    assert DeficitRoundRobin().pick({}, 5) == []
    assert DeficitRoundRobin().pick({"a": _backlog("a", 3)}, 0) == []
    assert DeficitRoundRobin().pick({"a": _backlog("a", 3, room=0)}, 5) == []
