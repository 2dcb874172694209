"""Marshmallow schemas of the missions resource."""

from __future__ import annotations

import marshmallow as ma

from brain.models.mission import PRIORITIES, STATUSES


class MissionCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    agent = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    priority = ma.fields.String(load_default="NORMAL", validate=ma.validate.OneOf(PRIORITIES))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10000))
    timeout_s = ma.fields.Integer(allow_none=True, strict=True, validate=ma.validate.Range(min=1, max=86400))
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=100)),
        load_default=list,
        validate=ma.validate.Length(max=50),
    )


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
