"""DEFAULT_RAILS: the rails every mission runs under, in chain order (the first sees every outcome)."""

from __future__ import annotations

from brain.rails.budget import BudgetRail
from brain.rails.chain import RailChain
from brain.rails.metrics_rail import MetricsRail
from brain.rails.reflex import ReflexRail
from brain.rails.retry import RetryRail
from brain.rails.timeout import TimeoutRail

# Adding a rail: write brain/rails/<rail>.py, then put its class here.
DEFAULT_RAILS = (MetricsRail, TimeoutRail, ReflexRail, BudgetRail, RetryRail)

_default = RailChain([rail() for rail in DEFAULT_RAILS])


def default_chain() -> RailChain:
    """The chain built from DEFAULT_RAILS (one per process)."""
    return _default
