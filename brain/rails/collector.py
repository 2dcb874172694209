"""Scrape-time NeuroRail gauges read from Redis: breaker states and the live enforcement percentage."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from brain.config import Settings
from brain.rails import reflex as breakers
from brain.rails.reflex import STATE_CODES
from brain.rails.rollout import PERCENTAGE_KEY
from brain.state import get_redis

log = logging.getLogger("brain.metrics")


class NeuroRailCollector(Collector):
    """Shared state is one truth for every process, so it is read, not summed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily(
            "neurorail_reflex_state", "Circuit state: 0 closed, 1 half-open, 2 open", labels=["breaker"]
        )
        pct = GaugeMetricFamily("neurorail_enforcement_percentage", "Share of missions whose rails enforce")
        try:
            client = get_redis(self.settings)
            for b in breakers.list_breakers(client, self.settings.neurorail_reflex_window_s):
                state.add_metric([b["name"]], STATE_CODES.get(b["state"], 0))
            raw = client.get(PERCENTAGE_KEY)
            pct.add_metric([], int(raw) if raw is not None else self.settings.neurorail_enforcement_percentage)
        except Exception:
            log.warning("NeuroRail gauges unavailable this scrape", exc_info=True)
        yield state
        yield pct
