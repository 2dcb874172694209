"""The plans a tenant can be on, each with its scheduling weight and default limits."""

from __future__ import annotations

from typing import Any

# What each limit means (0 = unlimited). A tenant's `limits` overrides any of them.
LIMITS: dict[str, str] = {
    "api_requests_per_s": "API requests per second, all of the tenant's callers together",
    "submissions_per_hour": "missions submitted per hour",
    "running_max": "missions running at once",
    "tokens_per_day": "LLM tokens per UTC day (the budget rail's tenant day scope)",
    "cost_usd_per_day": "USD per UTC day",
    "tokens_per_month": "LLM tokens per UTC month",
    "cost_usd_per_month": "USD per UTC month",
    "llm_tokens_per_minute": "LLM tokens per minute, over every model",
}
FLOAT_LIMITS = frozenset({"cost_usd_per_day", "cost_usd_per_month"})

PLANS: dict[str, dict[str, Any]] = {
    "free": {
        "weight": 1,
        "limits": {
            "api_requests_per_s": 5,
            "submissions_per_hour": 500,
            "running_max": 2,
            "tokens_per_day": 100_000,
            "cost_usd_per_day": 1.0,
            "tokens_per_month": 1_000_000,
            "cost_usd_per_month": 10.0,
            "llm_tokens_per_minute": 10_000,
        },
    },
    "standard": {
        "weight": 3,
        "limits": {
            "api_requests_per_s": 50,
            "submissions_per_hour": 20_000,
            "running_max": 20,
            "tokens_per_day": 5_000_000,
            "cost_usd_per_day": 100.0,
            "tokens_per_month": 100_000_000,
            "cost_usd_per_month": 2_000.0,
            "llm_tokens_per_minute": 200_000,
        },
    },
    "enterprise": {
        "weight": 10,
        "limits": {
            "api_requests_per_s": 500,
            "submissions_per_hour": 0,
            "running_max": 0,
            "tokens_per_day": 0,
            "cost_usd_per_day": 0.0,
            "tokens_per_month": 0,
            "cost_usd_per_month": 0.0,
            "llm_tokens_per_minute": 0,
        },
    },
}
PLAN_NAMES: tuple[str, ...] = tuple(PLANS)


def effective(plan: str, weight: int | None, overrides: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The weight and limits a tenant runs with: its plan's, with its own overrides on top."""
    base = PLANS[plan]
    return (weight if weight is not None else base["weight"]), {**base["limits"], **overrides}
