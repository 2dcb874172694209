"""Marshmallow schemas of the missions resource."""

from __future__ import annotations

import marshmallow as ma

from api.fields import UTCDateTime, tenant_arg
from brain.models.mission import STATUSES
from brain.rails import default_chain
from brain.submission import MissionSubmission

# The submission's own schema (brain/submission.py): its fields and the rails' options.
MissionCreateSchema = MissionSubmission
# The rail options a mission shows (timeout_s is a column of its own), in declaration order.
OPTION_NAMES = tuple(name for name in default_chain().option_fields if name != "timeout_s")


def _option(name: str):
    return lambda mission: (mission.options or {}).get(name)


class UsageSchema(ma.Schema):
    tokens = ma.fields.Integer()
    cost_usd = ma.fields.Float()


class MissionErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class MissionSchemaBase(ma.Schema):
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
    # NeuroRail (the rail options are added below, from the rails' declarations)
    usage = ma.fields.Nested(UsageSchema, allow_none=True)
    deferred_until = ma.fields.DateTime(allow_none=True)
    would_have = ma.fields.List(ma.fields.String())
    risk_tier = ma.fields.String(metadata={"enum": ["SAFE", "STANDARD", "RESTRICTED"]})
    submitted_by = ma.fields.String(allow_none=True)
    tenant = ma.fields.String()
    # The governor's decision: decision_id, effect, rule_id, reason, policy_version, obligations, inputs.
    decision = ma.fields.Dict(allow_none=True)

    def dump(self, obj, *, many: bool | None = None):
        """The fields above, converted directly: a page of missions is most of a list's cost.

        tests/unit/test_mission_schema.py holds this equal to marshmallow's own dump of the
        declared fields, so the declarations (which also document the API) stay the truth.
        """
        if self.only or self.exclude:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [mission_dict(item) for item in obj]
        return mission_dict(obj)


MissionSchema = type(
    "MissionSchema",
    (MissionSchemaBase,),
    {
        name: ma.fields.Function(_option(name), allow_none=True, metadata=default_chain().option_fields[name].metadata)
        for name in OPTION_NAMES
    },
)


def _iso(value):
    return None if value is None else value.isoformat()


def _int(value):
    return None if value is None else int(value)


def _str(value):
    return None if value is None else str(value)


def _strings(value):
    return None if value is None else [str(item) for item in value]


def _nested(value, fields):
    if value is None:
        return None
    return {name: convert(value[name]) for name, convert in fields if name in value}


_ERROR_FIELDS = (("code", _str), ("message", _str))
_USAGE_FIELDS = (("tokens", _int), ("cost_usd", lambda v: None if v is None else float(v)))


def mission_dict(m) -> dict:
    """One mission (ORM object or row) as the API shows it."""
    options = m.options or {}
    payload, decision = m.payload, m.decision
    shown = {
        "id": _str(m.id),
        "name": _str(m.name),
        "description": _str(m.description),
        "agent": _str(m.agent),
        "payload": None if payload is None else dict(payload),
        "priority": _str(m.priority),
        "status": _str(m.status),
        "result": m.result,
        "error": _nested(m.error, _ERROR_FIELDS),
        "attempts": _int(m.attempts),
        "timeout_s": _int(m.timeout_s),
        "tags": _strings(m.tags),
        "created_at": _iso(m.created_at),
        "started_at": _iso(m.started_at),
        "finished_at": _iso(m.finished_at),
        "usage": _nested(m.usage, _USAGE_FIELDS),
        "deferred_until": _iso(m.deferred_until),
        "would_have": _strings(m.would_have),
        "risk_tier": _str(m.risk_tier),
        "submitted_by": _str(m.submitted_by),
        "tenant": _str(m.tenant),
        "decision": None if decision is None else dict(decision),
    }
    for name in OPTION_NAMES:
        shown[name] = options.get(name)
    return shown


class MissionListArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    agent = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    tag = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100), metadata={"description": "Missions with this tag"}
    )
    created_after = UTCDateTime(metadata={"description": "Created at or after (ISO-8601)"})
    created_before = UTCDateTime(metadata={"description": "Created before (ISO-8601)"})
    tenant = tenant_arg()
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class TenantArgs(ma.Schema):
    tenant = tenant_arg()


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
    payload_schemas = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(),
        metadata={"description": "JSON Schema of each agent's payload (agents that take any object are left out)"},
    )
    modules = ma.fields.List(ma.fields.String(), metadata={"description": "The enabled modules (BRAIN_MODULES)"})


class MissionBatchSchema(ma.Schema):
    # Items are checked one by one by the submission (each gets its own error), not here.
    missions = ma.fields.List(
        ma.fields.Raw(),
        required=True,
        metadata={"description": "1-1000 mission bodies, each as for POST /api/missions"},
    )


class BatchItemSchema(ma.Schema):
    status = ma.fields.Integer(metadata={"description": "202 accepted, or the status a single submission would get"})
    mission = ma.fields.Nested(MissionSchema, allow_none=True)
    error = ma.fields.Dict(allow_none=True, metadata={"description": "The API's error shape, for a refused item"})


class BatchResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BatchItemSchema), metadata={"description": "One per mission, in order"})
    accepted = ma.fields.Integer()
    refused = ma.fields.Integer()
