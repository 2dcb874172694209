"""The `echo` agent: returns its payload (smoke tests, benchmarks)."""

from __future__ import annotations

from typing import Any

from brain.agents.base import Agent
from brain.agents.context import RunContext
from brain.agents.registry import register


@register
class EchoAgent(Agent):
    name = "echo"
    description = "Returns its payload unchanged."
    risk_tier = "SAFE"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        return payload
