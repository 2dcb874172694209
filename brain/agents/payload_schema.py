"""An agent's payload as JSON Schema (from its marshmallow schema), for the console's submit form."""

from __future__ import annotations

from functools import cache
from typing import Any

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from brain.agents.base import Agent


@cache
def _converter():
    plugin = MarshmallowPlugin()
    APISpec("payloads", "1", "3.0.3", plugins=[plugin])  # the plugin needs a spec to convert with
    return plugin.converter


def payload_schema(agent: Agent) -> dict[str, Any] | None:
    """The JSON Schema an agent's payload must match, or None when it takes any object."""
    if agent.payload_schema is None:
        return None
    return _json_schema(agent.payload_schema)


@cache
def _json_schema(schema: type[ma.Schema]) -> dict[str, Any]:
    # A schema class never changes: convert it once per process, not on every GET /api/missions/info.
    return _converter().schema2jsonschema(schema)
