"""NeuroRail: the rails (time limit, reflex, budget, retry, metrics) run around every mission."""

from brain.rails.base import Defer, Outcome, PublishState, Rail, RunState
from brain.rails.chain import RailChain
from brain.rails.defaults import DEFAULT_RAILS, default_chain

__all__ = ["DEFAULT_RAILS", "Defer", "Outcome", "PublishState", "Rail", "RailChain", "RunState", "default_chain"]
