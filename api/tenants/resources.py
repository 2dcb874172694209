"""HTTP endpoints of the tenants resource (role admin; with multi-tenancy, admins of tenant `default`)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_actor, require_platform, requires
from api.tenants.schemas import (
    SuspendSchema,
    TenantCreateSchema,
    TenantListArgs,
    TenantPageSchema,
    TenantPatchSchema,
    TenantSchema,
)
from brain.db import session_scope
from brain.security.roles import ADMIN
from brain.tenancy import status as tenant_status
from brain.tenancy import tenants as service
from brain.tenancy.scope import system_scope

blp = Blueprint("tenants", __name__, url_prefix="/api/tenants", description="Tenants: plans, limits, suspension")


def _change(apply) -> dict:
    """Run one change as the platform admin, and show the tenant as it is after it."""
    require_platform("tenant records")
    # Suspending, resuming and deleting act on the tenant's missions: the platform's path across tenants.
    with system_scope("tenant_admin"), session_scope(app_settings().database_url) as session:
        tenant = apply(session)
        shown = service.describe(tenant)
    tenant_status.forget()  # this process sees its own change at once; the others within CACHE_S
    return shown


@blp.route("")
class Tenants(MethodView):
    @blp.arguments(TenantListArgs, location="query")
    @blp.response(200, TenantPageSchema)
    @requires(ADMIN)
    def get(self, args: dict):
        """List tenants by id (`?status=suspended` for the suspended ones)."""
        require_platform("tenant records")
        with session_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_tenants(session, **args)
            return {"items": [service.describe(t) for t in items], "next_cursor": next_cursor}

    @blp.arguments(TenantCreateSchema)
    @blp.response(201, TenantSchema)
    @blp.alt_response(409, description="A tenant with this id exists (or existed: ids are never reused)")
    def post(self, body: dict):
        """Create a tenant on a plan, optionally with its own weight and limit overrides."""
        return _change(lambda s: service.create(s, body.pop("id"), body.pop("name"), actor=current_actor(), **body))


@blp.route("/<string:tenant_id>")
class TenantById(MethodView):
    @blp.response(200, TenantSchema)
    @blp.alt_response(404, description="No such tenant")
    @requires(ADMIN)
    def get(self, tenant_id: str):
        """One tenant, with the limits in effect and its own overrides."""
        require_platform("tenant records")
        with session_scope(app_settings().database_url) as session:
            return service.describe(service.get(session, tenant_id))

    @blp.arguments(TenantPatchSchema)
    @blp.response(200, TenantSchema)
    @blp.alt_response(404, description="No such tenant")
    @blp.alt_response(409, description="The tenant is deleted")
    def patch(self, body: dict, tenant_id: str):
        """Change name, plan, weight or limit overrides (a limit sent as null falls back to the plan's)."""
        return _change(lambda s: service.update_tenant(s, tenant_id, body, actor=current_actor()))

    @blp.response(200, TenantSchema)
    @blp.alt_response(404, description="No such tenant")
    @blp.alt_response(409, description="Missions of the tenant are not final yet, or it is `default`")
    def delete(self, tenant_id: str):
        """Mark the tenant deleted: its tokens are refused from then on. Refused while it has missions not final."""
        return _change(lambda s: service.delete(s, tenant_id, actor=current_actor()))


@blp.route("/<string:tenant_id>/suspend")
class TenantSuspend(MethodView):
    @blp.arguments(SuspendSchema)
    @blp.response(200, TenantSchema)
    @blp.alt_response(404, description="No such tenant")
    @blp.alt_response(409, description="Already suspended, deleted, or `default`")
    def post(self, body: dict, tenant_id: str):
        """Suspend: every call of the tenant is 403 tenant_suspended; queued missions are held, running ones finish."""
        return _change(lambda s: service.suspend(s, tenant_id, body["reason"], actor=current_actor()))


@blp.route("/<string:tenant_id>/resume")
class TenantResume(MethodView):
    @blp.response(200, TenantSchema)
    @blp.alt_response(404, description="No such tenant")
    @blp.alt_response(409, description="Not suspended")
    def post(self, tenant_id: str):
        """Resume a suspended tenant: its calls are served again and its held missions are published."""
        settings = app_settings()
        return _change(lambda s: service.resume(s, settings, tenant_id, actor=current_actor()))
