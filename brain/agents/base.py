"""The Agent interface every mission handler implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import marshmallow as ma

if TYPE_CHECKING:
    from brain.agents.context import RunContext

RISK_TIERS = ("SAFE", "STANDARD", "RESTRICTED")


class PayloadInvalid(ValueError):
    """The agent rejects a payload; `messages` maps field names to problems."""

    def __init__(self, messages: dict[str, Any]) -> None:
        super().__init__(str(messages))
        self.messages = messages


class Agent(ABC):
    """A named handler: validates a payload at enqueue, runs it on a worker."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    risk_tier: ClassVar[str] = "STANDARD"
    default_timeout_s: ClassVar[int | None] = None
    # Delivery guarantee. True: a run cut short by a lost worker runs again (at least once; the
    # agent's effects must tolerate a repeat). False: such a run fails with NR-E005 instead
    # (at most once). A run that finished is never repeated either way.
    idempotent: ClassVar[bool] = True
    payload_schema: ClassVar[type[ma.Schema] | None] = None
    # True: the agent spends its time waiting on the network (a model, an API), so its missions
    # go to the missions.io queue, which a gevent worker serves a thousand at a time; its time
    # limits still hold while it waits. False (CPU-bound, or blocking in C code): the missions
    # queue, served by prefork, whose hard limit kills the process.
    io_bound: ClassVar[bool] = False

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the payload to store, or raise PayloadInvalid."""
        if self.payload_schema is None:
            return payload
        try:
            return self.payload_schema().load(payload)
        except ma.ValidationError as exc:
            raise PayloadInvalid(exc.normalized_messages()) from None

    @abstractmethod
    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        """Do the mission's work; the return value (JSON) becomes the mission's result."""
