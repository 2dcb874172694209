"""The `check` agent: passes when `ok` is true, fails with `message` otherwise (a health check or test step)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from brain.agents.base import Agent
from brain.agents.context import RunContext
from brain.agents.registry import register
from brain.errors import AgentError


class CheckPayload(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    message = ma.fields.String(load_default="check failed", validate=ma.validate.Length(max=1000))
    details = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


@register
class CheckAgent(Agent):
    name = "check"
    description = "Succeeds with {ok: true, details} when `ok` is true; fails with `message` when it is false."
    risk_tier = "SAFE"
    payload_schema = CheckPayload

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        if not payload["ok"]:
            raise AgentError(payload["message"])
        return {"ok": True, "details": payload["details"]}
