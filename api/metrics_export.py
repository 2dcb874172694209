"""The API's /metrics: every gunicorn worker's samples summed, plus the scrape-time queue gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics


class BrainMetrics(GunicornInternalPrometheusMetrics):
    """The exporter builds a fresh registry per scrape in multiprocess mode; add ours to it."""

    def __init__(self, app, *live: Collector, **kwargs) -> None:
        self.live = list(live)
        super().__init__(app, **kwargs)

    def add_collector(self, collector: Collector) -> None:
        """A scrape-time collector (registering on `.registry` is ignored in multiprocess mode)."""
        self.live.append(collector)

    def generate_metrics(self, accept_header=None, names=None):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        # Shared truth read once per scrape: correct whichever worker answers.
        for collector in self.live:
            registry.register(collector)
        if names:
            registry = registry.restricted_registry(names)
        encoder, content_type = choose_encoder(accept_header)
        return encoder(registry).decode("utf-8"), content_type
