"""HTTP endpoints of the approvals resource."""

from __future__ import annotations

import uuid

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.approvals.schemas import (
    ApprovalListArgs,
    ApprovalPageSchema,
    ApprovalSchema,
    ApproveSchema,
    DecisionSchema,
    RejectSchema,
)
from api.auth import current_actor, current_tenant, requires
from brain.db import session_scope
from brain.security.roles import APPROVE
from brain.services import approvals as service

blp = Blueprint(
    "approvals", __name__, url_prefix="/api/approvals", description="Human approvals of missions a policy holds"
)


def approver_identity(body: dict) -> str | None:
    """Who is deciding: the one place the approver's identity is read.

    The authenticated user (the token's `sub`) when there is one; only an anonymous caller
    (auth off, minimal profile) may name themselves with `X-Actor` or the `approver` field.
    """
    return current_actor() or request.headers.get("X-Actor") or body.get("approver")


@blp.route("")
class Approvals(MethodView):
    @blp.arguments(ApprovalListArgs, location="query")
    @blp.response(200, ApprovalPageSchema)
    def get(self, args: dict):
        """List approvals, newest first (`?status=pending` for the ones waiting)."""
        with session_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_approvals(session, tenant=current_tenant(), **args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/<uuid:approval_id>")
class ApprovalById(MethodView):
    @blp.response(200, ApprovalSchema)
    @blp.alt_response(404, description="No such approval")
    def get(self, approval_id: uuid.UUID):
        """One approval."""
        with session_scope(app_settings().database_url) as session:
            return service.get_approval(session, approval_id, current_tenant())


@blp.route("/<uuid:approval_id>/approve")
class ApprovalApprove(MethodView):
    @blp.arguments(ApproveSchema)
    @blp.response(200, DecisionSchema)
    @blp.alt_response(403, description="The submitter may not approve their own mission")
    @blp.alt_response(404, description="No such approval")
    @blp.alt_response(409, description="Already decided, or expired")
    @requires(APPROVE)
    def post(self, body: dict, approval_id: uuid.UUID):
        """Approve: the mission is queued and published to the workers."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            approval, mission = service.approve(
                session, settings, approval_id, approver_identity(body), body.get("reason"), tenant=current_tenant()
            )
        return {"approval": approval, "mission": mission}


@blp.route("/<uuid:approval_id>/reject")
class ApprovalReject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, DecisionSchema)
    @blp.alt_response(404, description="No such approval")
    @blp.alt_response(409, description="Already decided, or expired")
    @requires(APPROVE)
    def post(self, body: dict, approval_id: uuid.UUID):
        """Reject with a `reason`: the mission ends `rejected` and never runs."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            return dict(
                zip(
                    ("approval", "mission"),
                    service.reject(
                        session,
                        approval_id,
                        approver_identity(body),
                        body["reason"],
                        tenant=current_tenant(),
                        settings=settings,
                    ),
                    strict=True,
                )
            )
