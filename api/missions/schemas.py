"""Marshmallow schemas of the missions resource."""

from __future__ import annotations

import marshmallow as ma

from brain.models.mission import PRIORITIES, STATUSES
from brain.rails import default_chain


class MissionCreateBase(ma.Schema):
    """The fields every mission has; the rails add the options they declare (see below)."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    agent = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    priority = ma.fields.String(load_default="NORMAL", validate=ma.validate.OneOf(PRIORITIES))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10000))
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=100)),
        load_default=list,
        validate=ma.validate.Length(max=50),
    )


# Options come from the rail chain's declarations, so an option no rail reads is an
# unknown field: 422 at enqueue.
MissionCreateSchema = type("MissionCreateSchema", (MissionCreateBase,), dict(default_chain().option_fields))


def _option(name: str):
    return lambda mission: (mission.options or {}).get(name)


class UsageSchema(ma.Schema):
    tokens = ma.fields.Integer()
    cost_usd = ma.fields.Float()


class MissionErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class MissionSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    agent = ma.fields.String()
    payload = ma.fields.Dict()
    priority = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    result = ma.fields.Raw(allow_none=True)
    error = ma.fields.Nested(MissionErrorSchema, allow_none=True)
    attempts = ma.fields.Integer()
    timeout_s = ma.fields.Integer(allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    # NeuroRail
    start_within_s = ma.fields.Function(_option("start_within_s"), allow_none=True)
    max_retries = ma.fields.Function(_option("max_retries"), allow_none=True)
    budget = ma.fields.Function(_option("budget"), allow_none=True)
    usage = ma.fields.Nested(UsageSchema, allow_none=True)
    deferred_until = ma.fields.DateTime(allow_none=True)
    would_have = ma.fields.List(ma.fields.String())
    risk_tier = ma.fields.String(metadata={"enum": ["SAFE", "STANDARD", "RESTRICTED"]})
    submitted_by = ma.fields.String(allow_none=True)
    tenant = ma.fields.String()
    # The governor's decision: decision_id, effect, rule_id, reason, policy_version, obligations, inputs.
    decision = ma.fields.Dict(allow_none=True)


class MissionListArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    agent = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class MissionPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MissionSchema))
    next_cursor = ma.fields.String(allow_none=True)


class InfoSchema(ma.Schema):
    name = ma.fields.String()
    version = ma.fields.String()
    profile = ma.fields.String()
    queues = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    workers_online = ma.fields.Integer()
    agents = ma.fields.List(ma.fields.String())
