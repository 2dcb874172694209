"""Marshmallow schemas of the pipelines resource."""

from __future__ import annotations

import marshmallow as ma

from brain.pipelines.versions import MAX_SOURCE


class ApplySchema(ma.Schema):
    source = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_SOURCE),
        metadata={"description": "The definition's YAML text (README, Pipelines)"},
    )


class InputSchema(ma.Schema):
    name = ma.fields.String()
    type = ma.fields.String()
    default = ma.fields.Raw(allow_none=True)
    required = ma.fields.Boolean()
    description = ma.fields.String()


class NodeSummarySchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    dependencies = ma.fields.List(ma.fields.String())
    agent = ma.fields.String(allow_none=True)
    transform = ma.fields.String(allow_none=True)
    pipeline = ma.fields.String(allow_none=True)
    foreach = ma.fields.Boolean()
    condition = ma.fields.Boolean()
    on_failure = ma.fields.String()


class VersionSchema(ma.Schema):
    name = ma.fields.String()
    version = ma.fields.Integer(metadata={"description": "The platform's number: 1, 2, … in apply order"})
    label = ma.fields.String(allow_none=True, metadata={"description": "The definition's own `version`"})
    content_hash = ma.fields.String(metadata={"description": "SHA-256 of the source text"})
    current = ma.fields.Boolean()
    created_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class VersionDetailSchema(VersionSchema):
    source = ma.fields.String()
    description = ma.fields.String()
    inputs = ma.fields.List(ma.fields.Nested(InputSchema))
    nodes = ma.fields.List(ma.fields.Nested(NodeSummarySchema))
    outputs = ma.fields.List(ma.fields.String())


class AppliedSchema(VersionDetailSchema):
    created = ma.fields.Boolean(metadata={"description": "False: the same text was already current"})


class PipelineSchema(ma.Schema):
    name = ma.fields.String()
    current_version = ma.fields.Integer()
    latest_version = ma.fields.Integer()
    label = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PipelineListArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class PipelinePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PipelineSchema))
    next_cursor = ma.fields.String(allow_none=True)


class VersionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VersionSchema))


class RollbackSchema(ma.Schema):
    version = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "The version to make current; default: the one before the current"},
    )
