"""When fair scheduling is on, and what a mission is expected to cost against its tenant's share."""

from __future__ import annotations

from brain.config import load_settings
from brain.scheduling.policy import enabled, expected_cost

ENV = {"BRAIN_DATA_DIR": "/tmp/brain-unit"}


def _settings(**env: str):
    return load_settings({**ENV, **env})


def test_auto_follows_multi_tenancy_and_on_off_override_it():
    assert enabled(_settings(BRAIN_MULTI_TENANCY="true"))
    assert not enabled(_settings(BRAIN_MULTI_TENANCY="false"))
    assert enabled(_settings(BRAIN_MULTI_TENANCY="false", BRAIN_FAIR_SCHEDULING="on"))
    assert not enabled(_settings(BRAIN_MULTI_TENANCY="true", BRAIN_FAIR_SCHEDULING="off"))


def test_cost_is_the_larger_reservation_in_units_of_an_ordinary_mission():
    s = _settings(NEURORAIL_BUDGET_ESTIMATE_TOKENS="1000", BRAIN_DEFAULT_TIMEOUT_S="300")
    assert expected_cost(s, {}, None) == 1.0
    assert expected_cost(s, {"budget": {"max_tokens": 8000}}, None) == 8.0
    assert expected_cost(s, {"budget": {"max_tokens": 10}}, None) == 1.0  # never below one mission
    assert expected_cost(s, {}, 3000) == 10.0  # ten times the default time limit
    assert expected_cost(s, {"budget": {"max_tokens": 4000}}, 600) == 4.0
