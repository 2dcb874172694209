"""Marshmallow schemas of the approvals resource."""

from __future__ import annotations

import marshmallow as ma

from api.missions.schemas import MissionSchema
from brain.models.approval import APPROVAL_STATUSES


class ApprovalSchema(ma.Schema):
    id = ma.fields.UUID()
    mission_id = ma.fields.UUID()
    status = ma.fields.String(metadata={"enum": list(APPROVAL_STATUSES)})
    rule_id = ma.fields.String(allow_none=True)
    requested_by = ma.fields.String(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)


class ApprovalListArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(APPROVAL_STATUSES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))


class ApprovalPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ApprovalSchema))
    next_cursor = ma.fields.String(allow_none=True)


class ApproveSchema(ma.Schema):
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    # Until authentication exists the approver names themselves (or sends X-Actor).
    approver = ma.fields.String(validate=ma.validate.Length(min=1, max=255))


class RejectSchema(ApproveSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class DecisionSchema(ma.Schema):
    """An approval decision and the mission it moved."""

    approval = ma.fields.Nested(ApprovalSchema)
    mission = ma.fields.Nested(MissionSchema)
