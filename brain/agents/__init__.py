"""Agents: the registry of mission handlers and the built-in agents."""

from brain.agents.base import Agent, PayloadInvalid
from brain.agents.context import MissionCancelled, RunContext
from brain.agents.registry import get_agent, register, registered_agents

__all__ = [
    "Agent",
    "MissionCancelled",
    "PayloadInvalid",
    "RunContext",
    "get_agent",
    "register",
    "registered_agents",
]
