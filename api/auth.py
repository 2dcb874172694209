"""Who may call what: bearer-token authentication per request and the endpoint→permission map.

Every endpoint under /api needs a permission (brain/security/roles.py). It is looked up:
1. on the view method, if decorated with `@requires("approve")` (any order among decorators);
2. in ENDPOINT_PERMISSIONS by "blueprint.View:METHOD", then by "blueprint.View";
3. otherwise the safe default: GET/HEAD need `read`, every other method needs `admin`.
Paths outside /api (/health/*, /metrics, /console pages) and the OpenAPI document and Swagger UI are
public. The console's session cookie stands in for the header (api/console/session.py, with CSRF).
Failures use the one error shape: 401 (with WWW-Authenticate) for a missing or bad token,
403 when the token's roles lack the permission.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from apispec import BasePlugin
from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api

from api.app_settings import app_settings
from api.console import session as console_session
from api.errors import brain_error_body, error_body
from brain.config import Settings
from brain.errors import BrainError, ConfigError, Forbidden
from brain.security import PERMISSIONS, AuthError, Identity, permissions_of, verify_token
from brain.security.roles import ADMIN, APPROVE, CANCEL, READ, SUBMIT
from brain.tenancy import scope
from brain.tenancy import status as tenant_status

log = logging.getLogger("brain.api.auth")

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints of other resources add their rows here (or use @requires on the view method).
ENDPOINT_PERMISSIONS: dict[str, str] = {
    "missions.Missions:GET": READ,
    "missions.Missions:POST": SUBMIT,
    "missions.MissionEnqueue:POST": SUBMIT,
    "missions.MissionBatch:POST": SUBMIT,
    "missions.MissionById:GET": READ,
    "missions.MissionCancel:POST": CANCEL,
    "missions.MissionInfo:GET": READ,
    "approvals.ApprovalApprove:POST": APPROVE,
    "approvals.ApprovalReject:POST": APPROVE,
    "neurorail.ReflexReset:POST": ADMIN,
    "policies.PoliciesReload:POST": ADMIN,
}

PUBLIC_ENDPOINTS = frozenset({"api-docs.openapi_json", "docs.page", "docs.asset", "static"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_ATTR = "_brain_permission"


def requires(permission: str) -> Callable[[F], F]:
    """Mark a view method as needing `permission` (overrides the map and the default)."""

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, permission)
        return fn

    return mark


def current_identity() -> Identity | None:
    """The authenticated caller of this request, or None (anonymous, minimal profile)."""
    return getattr(g, "identity", None)


def current_tenant() -> str:
    identity = current_identity()
    return identity.tenant if identity else "default"


def is_platform_caller() -> bool:
    """Whether the caller acts for the whole deployment: single-tenant mode, or tenant `default`.

    What spans tenants (tenant records, policies, breakers' resets, the system view, queue
    depths) is the platform's; a customer tenant's caller sees and changes only its own.
    """
    identity = current_identity()
    return not app_settings().multi_tenancy or identity is None or identity.tenant == "default"


def require_platform(what: str) -> None:
    """403 unless the caller is the platform's (see is_platform_caller)."""
    if not is_platform_caller():
        raise Forbidden(f"{what} belong to the platform: only callers of tenant 'default' may use this")


def caller_permissions() -> frozenset[str]:
    """What this request's caller may do: its roles' permissions, or an anonymous caller's (auth off).

    Anonymous callers may do everything but admin operations, unless BRAIN_ANONYMOUS_ADMIN.
    """
    identity = current_identity()
    if identity is not None:
        return permissions_of(identity.roles)
    everything = frozenset(PERMISSIONS)
    return everything if app_settings().anonymous_admin else everything - {ADMIN}


@contextmanager
def reading_tenant(requested: str | None) -> Iterator[str]:
    """Read as the caller's own tenant or, for a platform admin only, the tenant it asked for.

    The database work inside runs in that tenant's scope, so row-level security shows exactly
    its rows; anyone else asking for another tenant gets 403.
    """
    own = current_tenant()
    if requested is None or requested == own:
        yield own
        return
    require_platform("other tenants' missions and events")
    if ADMIN not in caller_permissions():
        raise Forbidden("reading another tenant's missions and events needs the admin role")
    with scope.tenant_scope(requested):
        yield requested


def current_actor() -> str | None:
    identity = current_identity()
    return identity.sub if identity else None


def required_permission(endpoint: str | None, method: str) -> str | None:
    """The permission a request needs, or None when the endpoint is public."""
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or not request.path.startswith("/api/"):
        return None
    method = "GET" if method == "HEAD" else method
    view = current_app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view
    marked = getattr(handler, _ATTR, None)
    if marked:
        return marked
    found = ENDPOINT_PERMISSIONS.get(f"{endpoint}:{method}") or ENDPOINT_PERMISSIONS.get(endpoint)
    if found:
        return found
    return READ if method in _SAFE_METHODS else ADMIN


def _authenticate() -> None:
    """Before rate limits: read the token (tier 3 limits key on it); refusing comes later."""
    g.identity, g.auth_error, g.csrf_refused = None, None, False
    try:
        header = request.headers.get("Authorization")
        if header is None:
            _authenticate_console_session()
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            g.auth_error = "the Authorization header must be 'Bearer <token>'"
            return
        try:
            g.identity = verify_token(token.strip(), app_settings())
        except AuthError as exc:
            g.auth_error = exc.message
    finally:
        # The request's database work sees its caller's tenant only (row-level security).
        scope.enter_request_scope(current_tenant() if app_settings().multi_tenancy else None)


def _authenticate_console_session() -> None:
    """The console's cookie stands in for the header; unsafe requests must prove they are its own."""
    token = console_session.session_token(request)
    if token is None:
        return
    if not console_session.csrf_ok(request):
        g.csrf_refused = True
        return
    try:
        g.identity = verify_token(token, app_settings())
    except AuthError as exc:
        g.auth_error = f"the console session ended ({exc.message}): log in again"


def _authorize():
    """After rate limits: 401 without an acceptable token (when required), 403 without the role."""
    if request.method == "OPTIONS":
        return None
    permission = required_permission(request.endpoint, request.method)
    if permission is None:
        return None
    if g.get("csrf_refused"):
        body = error_body(403, "the CSRF token is missing or wrong: reload the console and try again", "csrf_failed")
        return jsonify(body), 403
    if g.get("auth_error"):
        return _unauthorized(g.auth_error, invalid=True)
    identity = current_identity()
    if identity is None:
        settings = app_settings()
        if settings.auth_required:
            return _unauthorized("a bearer token is required")
        if permission == ADMIN and not settings.anonymous_admin:
            return _unauthorized(
                "admin operations need a bearer token with the admin role, also with "
                "authentication off (or set BRAIN_ANONYMOUS_ADMIN=true)"
            )
        return None  # anonymous local use (minimal profile)
    settings = app_settings()
    if settings.multi_tenancy:
        try:
            tenant_status.require_active(settings.database_url, identity.tenant)
        except BrainError as exc:
            code, body = brain_error_body(exc)
            return jsonify(body), code
    if permission not in permissions_of(identity.roles):
        roles = ", ".join(sorted(identity.roles)) or "none"
        body = error_body(403, f"this needs the {permission!r} permission; your roles: {roles}", "forbidden")
        return jsonify(body), 403
    return None


def _unauthorized(message: str, invalid: bool = False):
    challenge = 'Bearer realm="brain"'
    if invalid:
        challenge += ', error="invalid_token", error_description="' + message.replace('"', "'") + '"'
    return jsonify(error_body(401, message, "unauthorized")), 401, {"WWW-Authenticate": challenge}


def check_config(settings: Settings) -> None:
    """Start-up: a profile that requires auth must have a key to verify tokens with."""
    if settings.auth_required and not (settings.jwt_secret or settings.jwt_public_key or settings.jwt_jwks_file):
        raise ConfigError(
            f"BRAIN_AUTH_REQUIRED is on (profile {settings.profile}) but no token key is configured: "
            "set BRAIN_JWT_SECRET, BRAIN_JWT_PUBLIC_KEY or BRAIN_JWT_JWKS_FILE"
        )
    if not settings.auth_required:
        reach = (
            "every anonymous caller is an ADMIN (BRAIN_ANONYMOUS_ADMIN=true)"
            if settings.anonymous_admin
            else "every anonymous caller may read, submit, cancel and approve missions of tenant 'default'; "
            "admin operations still need a token with the admin role"
        )
        log.warning(
            "AUTHENTICATION IS OFF (profile %s): %s. Set BRAIN_AUTH_REQUIRED=true to require a bearer token.",
            settings.profile,
            reach,
        )


def register_authentication(app: Flask) -> None:
    """Register before the rate limiter, so tier-3 limits can key on the identity."""
    check_config(app.config["BRAIN_SETTINGS"])
    app.before_request(_authenticate)


def register_authorization(app: Flask) -> None:
    """Register after the rate limiter, so floods of bad tokens are still counted."""
    app.before_request(_authorize)


class _SecurityDocs(BasePlugin):
    """OpenAPI: public paths have no security; /api operations document 401, 403 and 429."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if not (path or "").startswith("/api/"):
                operation["security"] = []
                continue
            responses = operation["responses"]
            responses.setdefault("401", "UNAUTHORIZED")
            responses.setdefault("403", "FORBIDDEN")
            responses.setdefault("429", "TOO_MANY_REQUESTS")


def document(api: Api) -> None:
    """Declare the bearer scheme (call before blueprints are registered)."""
    spec = api.spec
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    error = {"application/json": {"schema": "Error"}}
    for name, text in (
        ("UNAUTHORIZED", "Missing, malformed, expired or wrongly signed bearer token"),
        ("FORBIDDEN", "The token's roles lack the permission this needs"),
        ("TOO_MANY_REQUESTS", "Rate limited; see Retry-After and X-RateLimit-*"),
    ):
        spec.components.response(name, {"description": text, "content": error})
    spec.options["security"] = [{"bearerAuth": []}]
    plugin = _SecurityDocs()
    plugin.init_spec(spec)
    spec.plugins = [*spec.plugins, plugin]
