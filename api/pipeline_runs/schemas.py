"""Marshmallow schemas of pipeline runs and their nodes."""

from __future__ import annotations

import marshmallow as ma

from brain.models.pipeline import NODE_STATUSES, RUN_STATUSES


class RunStartSchema(ma.Schema):
    inputs = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=dict,
        metadata={"description": "Values for the pipeline's declared inputs; the rest take their defaults"},
    )


class RunNodeSchema(ma.Schema):
    node = ma.fields.String(metadata={"description": "The definition's node id"})
    item_index = ma.fields.Integer(allow_none=True, metadata={"description": "A fan-out item's index; null: the node"})
    status = ma.fields.String(metadata={"description": ", ".join(NODE_STATUSES)})
    attempts = ma.fields.Integer()
    mission_id = ma.fields.UUID(allow_none=True)
    mission_status = ma.fields.String(allow_none=True)
    child_run_id = ma.fields.UUID(allow_none=True, metadata={"description": "A sub-pipeline node's run"})
    ready_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When its last dependency finished"})
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    result_summary = ma.fields.String(allow_none=True, metadata={"description": "Its result as JSON, cut at 200"})
    error = ma.fields.Dict(allow_none=True)


class RunSchema(ma.Schema):
    id = ma.fields.UUID()
    pipeline = ma.fields.String()
    version = ma.fields.Integer(metadata={"description": "The version this run pinned when it started"})
    status = ma.fields.String(metadata={"description": ", ".join(RUN_STATUSES)})
    inputs = ma.fields.Dict()
    outputs = ma.fields.Dict(allow_none=True, metadata={"description": "The declared outputs, once succeeded"})
    error = ma.fields.Dict(allow_none=True)
    parent_run_id = ma.fields.UUID(allow_none=True, metadata={"description": "Set on a sub-pipeline's run"})
    created_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    duration_s = ma.fields.Float(allow_none=True)


class RunDetailSchema(RunSchema):
    nodes = ma.fields.List(ma.fields.Nested(RunNodeSchema))


class RunListArgs(ma.Schema):
    pipeline = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    status = ma.fields.String(validate=ma.validate.OneOf(RUN_STATUSES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class RunPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RunSchema))
    next_cursor = ma.fields.String(allow_none=True)
