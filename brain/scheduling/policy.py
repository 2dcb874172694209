"""Whether fair scheduling is on, its settings, and what a mission is expected to cost."""

from __future__ import annotations

from typing import Any

from brain.config import Settings
from brain.config.parsers import _choice, _float, _int
from brain.config.settings import declare, setting

declare(
    "scheduling",
    fair_scheduling=setting(
        "BRAIN_FAIR_SCHEDULING",
        _choice("auto", "on", "off"),
        "Admit queued missions to the broker by weighted fair queuing across tenants "
        "(auto: on with BRAIN_MULTI_TENANCY; off: publish at once, first come first served)",
        "auto",
    ),
    fair_queue_margin=setting(
        "BRAIN_FAIR_QUEUE_MARGIN",
        _int(1, 100_000),
        "Missions admitted beyond the free worker slots, so that no slot idles between admission passes",
        32,
    ),
    fair_tick_s=setting(
        "BRAIN_FAIR_TICK_S", _float(0.005, 5.0), "Seconds between the dispatcher's admission passes", 0.1
    ),
)


def enabled(settings: Settings) -> bool:
    """Fair admission on: publishing a queued mission puts it in its tenant's backlog instead of the broker."""
    if settings.fair_scheduling == "auto":
        return settings.multi_tenancy
    return settings.fair_scheduling == "on"


def expected_cost(settings: Settings, options: dict[str, Any] | None, timeout_s: int | None) -> float:
    """A mission's share of the worker pool, in units of an ordinary mission (1.0).

    The larger of what it reserves: tokens (its budget's max_tokens, else the budget rail's
    estimate) against that estimate, and run-seconds (its time limit) against the default one.
    """
    estimate = max(1, settings.neurorail_budget_estimate_tokens)
    tokens = ((options or {}).get("budget") or {}).get("max_tokens") or estimate
    seconds = timeout_s or settings.default_timeout_s
    return max(1.0, tokens / estimate, seconds / settings.default_timeout_s)
