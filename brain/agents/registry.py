"""The agent registry: built-ins, the `brain.agents` entry points and BRAIN_AGENT_MODULES."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from brain.agents.base import RISK_TIERS, Agent
from brain.fork_safe import ForkSafeLock

log = logging.getLogger(__name__)

_agents: dict[str, Agent] = {}
_loaded: set[str] = set()
_lock = ForkSafeLock()

ENTRY_POINT_GROUP = "brain.agents"
BUILTIN_MODULES = ("brain.agents.echo", "brain.agents.sleep", "brain.agents.check", "brain.agents.llm_chat")


def register(cls: type[Agent]) -> type[Agent]:
    """Class decorator: make an Agent subclass available by its `name`."""
    if cls.risk_tier not in RISK_TIERS:
        raise ValueError(f"agent {cls.name}: risk_tier must be one of {RISK_TIERS}")
    _agents[cls.name] = cls()
    return cls


def load_agents(extra_modules: Iterable[str] = ()) -> None:
    """Import built-ins, entry points and extra modules once per process."""
    with _lock:
        for module in (*BUILTIN_MODULES, *extra_modules):
            if module not in _loaded:
                importlib.import_module(module)
                _loaded.add(module)
        if "entry_points" not in _loaded:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                obj = ep.load()
                if isinstance(obj, type) and issubclass(obj, Agent) and obj.name not in _agents:
                    register(obj)
            _loaded.add("entry_points")


def get_agent(name: str) -> Agent | None:
    return _agents.get(name)


def registered_agents() -> dict[str, Agent]:
    return dict(_agents)
