"""Agents the tests load through BRAIN_AGENT_MODULES (the plugin path users take too)."""

from __future__ import annotations

import os
import socket
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


@register
class SpendAgent(Agent):
    """Charges `tokens` per step for `steps` steps (cost optional), like an LLM loop would."""

    name = "test.spend"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        for _ in range(int(payload.get("steps", 1))):
            ctx.charge(tokens=int(payload.get("tokens", 0)), cost_usd=float(payload.get("cost_usd", 0)))
            time.sleep(float(payload.get("pause", 0)))
        return {"spent": ctx.usage.tokens}


@register
class FlakyAgent(Agent):
    """Fails while payload['fail_file'] exists (a switch the test flips); sleeps `seconds` first."""

    name = "test.flaky"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        ctx.sleep(float(payload.get("seconds", 0)))
        if os.path.exists(payload["fail_file"]):
            raise RuntimeError("flaky agent is failing")
        return {"host_pid": os.getpid()}


@register
class RetryableAgent(Agent):
    """Raises a retryable error until it has been started `succeed_on` times."""

    name = "test.retryable"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        from brain.errors import RetryableAgentError

        if ctx.attempt < int(payload.get("succeed_on", 2)):
            raise RetryableAgentError(f"provider busy (attempt {ctx.attempt})")
        return {"attempt": ctx.attempt}


@register
class OnceAgent(CountAgent):
    """test.count with side effects that must not repeat: declared not idempotent (at most once)."""

    name = "test.once"
    idempotent = False


# I/O-bound twins, routed to missions.io (the gevent mode's queue).


@register
class IOCountAgent(CountAgent):
    name = "test.io_count"
    io_bound = True


@register
class IOSpendAgent(SpendAgent):
    name = "test.io_spend"
    io_bound = True


@register
class IOFailAgent(FailAgent):
    name = "test.io_fail"
    io_bound = True


@register
class HangAgent(Agent):
    """Reads from payload['port'] with no socket timeout and swallows every Exception: only a hard limit stops it."""

    name = "test.hang"
    io_bound = True

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(payload["port"]))) as sock:
                    sock.settimeout(None)
                    sock.recv(1)  # the server never answers
            except Exception:  # noqa: BLE001 - the soft limit included: this agent does not cooperate
                pass


@register
class RestrictedAgent(Agent):
    """RESTRICTED: the default policies hold its missions for a human approval."""

    name = "test.restricted"
    risk_tier = "RESTRICTED"

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        return {"ran": True}
