"""NeuroRail: the rails (time limit, reflex, budget, retry, metrics) run around every mission."""

from brain.rails.base import Defer, Rail, RunState
from brain.rails.chain import RailChain, default_chain

__all__ = ["Defer", "Rail", "RailChain", "RunState", "default_chain"]
