"""Agents the tests load through BRAIN_AGENT_MODULES (the plugin path users take too)."""

from __future__ import annotations

import os
import time
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded

from brain.agents import Agent, RunContext, register


@register
class FailAgent(Agent):
    name = "test.fail"
    description = "Always raises."

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        raise RuntimeError(payload.get("message", "boom"))


@register
class StubbornAgent(Agent):
    """Ignores the soft time limit, so only the hard limit can stop it."""

    name = "test.stubborn"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        end = time.monotonic() + float(payload.get("seconds", 60))
        while time.monotonic() < end:
            try:
                time.sleep(0.05)
            except SoftTimeLimitExceeded:
                continue
        return "finished"


@register
class CountAgent(Agent):
    """Appends one line per start to payload['file'], then sleeps cooperatively."""

    name = "test.count"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        with open(payload["file"], "a") as fh:
            fh.write(f"{ctx.mission_id} {ctx.attempt} {os.getpid()}\n")
        ctx.sleep(float(payload.get("seconds", 0)))
        return {"attempt": ctx.attempt}
