"""Marshmallow schemas of the policies resource."""

from __future__ import annotations

import marshmallow as ma


class ProblemSchema(ma.Schema):
    file = ma.fields.String()
    rule = ma.fields.String(allow_none=True)
    field = ma.fields.String(allow_none=True)
    line = ma.fields.Integer(allow_none=True)
    message = ma.fields.String()


class PolicyFileSchema(ma.Schema):
    name = ma.fields.String()
    sha256 = ma.fields.String()
    default = ma.fields.String(allow_none=True)
    rules = ma.fields.List(ma.fields.String())


class PolicySetSchema(ma.Schema):
    version = ma.fields.String(allow_none=True, metadata={"description": "Content hash of the set in force"})
    directory = ma.fields.String()
    default = ma.fields.String(allow_none=True)
    loaded_at = ma.fields.Float(allow_none=True)
    governance_enabled = ma.fields.Boolean()
    files = ma.fields.List(ma.fields.Nested(PolicyFileSchema))
    rules = ma.fields.List(ma.fields.Dict(), metadata={"description": "In evaluation order"})
    tenant_plans = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    problems = ma.fields.List(
        ma.fields.Nested(ProblemSchema),
        metadata={"description": "Errors of the last reload attempt (the set above stays)"},
    )


class ReloadSchema(PolicySetSchema):
    changed = ma.fields.Boolean()
    previous_version = ma.fields.String(allow_none=True)
