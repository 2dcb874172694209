"""Marshmallow schemas of the events resource."""

from __future__ import annotations

import marshmallow as ma

from api.fields import UTCDateTime, tenant_arg


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    mission_id = ma.fields.UUID(allow_none=True)
    tenant = ma.fields.String()
    actor = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    prev_hash = ma.fields.String(allow_none=True)
    hash = ma.fields.String(allow_none=True)


class EventListArgs(ma.Schema):
    type = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    mission_id = ma.fields.UUID()
    tenant = tenant_arg()
    since = UTCDateTime()
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class EventStreamArgs(ma.Schema):
    type = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    mission_id = ma.fields.UUID()
    # For clients that cannot set the Last-Event-ID header (the header wins).
    last_event_id = ma.fields.Integer(validate=ma.validate.Range(min=0, max=2**63 - 1))


class EventPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema))
    next_cursor = ma.fields.String(allow_none=True)


class MissionEventsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema))
