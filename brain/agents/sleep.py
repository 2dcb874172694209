"""The `sleep` agent: waits `seconds`, honouring cancellation and time limits."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from brain.agents.base import Agent
from brain.agents.context import RunContext
from brain.agents.registry import register


class SleepPayload(ma.Schema):
    seconds = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=86400))


@register
class SleepAgent(Agent):
    name = "sleep"
    description = "Sleeps {seconds}, waking early when cancelled."
    risk_tier = "SAFE"
    io_bound = True
    payload_schema = SleepPayload

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        ctx.sleep(payload["seconds"])
        return {"slept": payload["seconds"]}
