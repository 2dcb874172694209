"""NeuroRail's Prometheus metrics (names are part of the public contract)."""

from __future__ import annotations

from prometheus_client import Counter

ATTEMPTS = Counter("neurorail_attempts_total", "Mission attempts by outcome", ["agent", "outcome"])
ATTEMPTS_FAILED = Counter("neurorail_attempts_failed_total", "Failed attempts by NeuroRail code", ["error_code"])
TIMEOUTS = Counter("neurorail_timeouts_total", "Missions stopped by their time limit")
BUDGET_VIOLATIONS = Counter("neurorail_budget_violations_total", "Budget limits hit, by scope", ["scope"])
TOKENS_USED = Counter("neurorail_tokens_used_total", "Tokens charged by agents", ["agent"])
COST_USED = Counter("neurorail_cost_usd_total", "Cost in USD charged by agents", ["agent"])
REFLEX_ACTIONS = Counter("neurorail_reflex_actions_total", "Circuit breaker actions", ["action"])
WOULD_HAVE_BLOCKED = Counter(
    "neurorail_would_have_blocked_total", "Violations observed but not enforced, by rail", ["rail"]
)
RAIL_ERRORS = Counter("neurorail_rail_exceptions_total", "Unexpected exceptions inside a rail", ["rail", "hook"])
