"""Marshmallow schemas of the tenants resource."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from brain.models.tenant import TENANT_STATUSES
from brain.tenancy.plans import FLOAT_LIMITS, LIMITS, PLAN_NAMES
from brain.tenancy.tenants import SLUG

_LIMIT_DOC = "; ".join(f"`{k}`: {v}" for k, v in LIMITS.items())


def _limit_fields(nullable: bool) -> dict[str, ma.fields.Field]:
    out: dict[str, ma.fields.Field] = {}
    for key, text in LIMITS.items():
        if key in FLOAT_LIMITS:
            out[key] = ma.fields.Float(
                allow_none=nullable,
                allow_nan=False,
                validate=ma.validate.Range(min=0, max=1e12),
                metadata={"description": text},
            )
        else:
            out[key] = ma.fields.Integer(
                strict=True,
                allow_none=nullable,
                validate=ma.validate.Range(min=0, max=10**15),
                metadata={"description": text},
            )
    return out


# Overrides as stored and as sent: every limit the plans know, 0 = unlimited; PATCH's null drops one.
LimitsSchema = ma.Schema.from_dict(_limit_fields(False), name="TenantLimits")
LimitsPatchSchema = ma.Schema.from_dict(_limit_fields(True), name="TenantLimitsPatch")


class OverridesSchema(ma.Schema):
    weight = ma.fields.Integer(allow_none=True)
    limits = ma.fields.Nested(LimitsSchema)


class TenantSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    plan = ma.fields.String(metadata={"enum": list(PLAN_NAMES)})
    status = ma.fields.String(metadata={"enum": list(TENANT_STATUSES)})
    suspended_reason = ma.fields.String(allow_none=True)
    weight = ma.fields.Integer(
        metadata={"description": "Fair-scheduling weight in effect (the tenant's, else its plan's)"}
    )
    limits = ma.fields.Nested(LimitsSchema, metadata={"description": "Limits in effect: " + _LIMIT_DOC})
    overrides = ma.fields.Nested(OverridesSchema, metadata={"description": "What the tenant sets over its plan"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TenantCreateSchema(ma.Schema):
    id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(SLUG, error="1-64 characters of a-z 0-9 . _ -, starting with a letter or digit"),
        metadata={"description": "The slug tokens name in their `tenant` claim"},
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    plan = ma.fields.String(load_default="standard", validate=ma.validate.OneOf(PLAN_NAMES))
    weight = ma.fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=1000)
    )
    limits = ma.fields.Nested(LimitsSchema, load_default=dict)


class TenantPatchSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    plan = ma.fields.String(validate=ma.validate.OneOf(PLAN_NAMES))
    weight = ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(min=1, max=1000))
    limits = ma.fields.Nested(LimitsPatchSchema)

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ma.ValidationError("give at least one of name, plan, weight, limits", "_schema")


class SuspendSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class TenantListArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(TENANT_STATUSES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class TenantPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TenantSchema))
    next_cursor = ma.fields.String(allow_none=True)
