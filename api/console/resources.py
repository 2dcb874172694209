"""/console: the operator console's pages, login and logout, and its assets, all shipped in the package.

The console is a client of the JSON API: its script (static/console.js) calls /api/... with the
session cookie, so every permission, tenant scope and validation is the API's own. This module
only serves the shell and the login form, and turns a pasted token into a session.
"""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from flask import Blueprint, Response, abort, jsonify, redirect, request, send_from_directory

from api.app_settings import app_settings
from api.auth import caller_permissions, current_identity, is_platform_caller
from api.console import session
from api.errors import error_body
from api.security_headers import over_tls
from brain.security import AuthError, verify_token
from brain.security.roles import ADMIN

blp = Blueprint("console", __name__, url_prefix="/console")

ASSETS = Path(__file__).parent / "static"
SHELL = (ASSETS / "index.html").read_text()
LOGIN = (ASSETS / "login.html").read_text()


def _page(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("")
def root() -> Response:
    return redirect("/console/", code=308)


@blp.get("/")
def shell() -> Response:
    if session.session_token(request) is None and app_settings().auth_required:
        return redirect("/console/login", code=303)
    return _page(SHELL)


def _login_page(message: str = "", status: int = 200) -> Response:
    response = _page("", status)
    csrf = session.ensure_csrf(request, response, over_tls())
    error = f'<p class="error" role="alert" id="login-error">{html.escape(message)}</p>' if message else ""
    response.set_data(LOGIN.replace("{{csrf}}", html.escape(csrf)).replace("{{error}}", error))
    return response


@blp.get("/login")
def login_form() -> Response:
    return _login_page()


@blp.post("/login")
def login() -> Response:
    if not session.csrf_ok(request):
        return _login_page("The form expired; please paste your token again.", 403)
    token = (request.form.get("token") or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        return _login_page("Paste a token (brain token issue prints one).", 400)
    try:
        identity = verify_token(token, app_settings())
    except AuthError as exc:
        return _login_page(f"That token was refused: {exc.message}", 401)
    response = redirect("/console/", code=303)
    session.start(response, token, identity.claims, over_tls())
    return response


@blp.post("/logout")
def logout() -> Response:
    if not session.csrf_ok(request):
        return jsonify(error_body(403, "the CSRF token is missing or wrong", "csrf_failed")), 403
    response = redirect("/console/login", code=303)
    session.end(response, over_tls())
    return response


@blp.get("/session")
def whoami() -> Response:
    """Who the console acts as and what they may do, with the CSRF token for its requests."""
    settings = app_settings()
    identity = current_identity()
    if identity is None and (settings.auth_required or session.session_token(request)):
        return jsonify(error_body(401, "log in to use the console", "unauthorized")), 401
    permissions = caller_permissions()
    if identity is None:
        who = {"sub": None, "tenant": "default", "roles": []}
    else:
        who = {"sub": identity.sub, "tenant": identity.tenant, "roles": sorted(identity.roles)}
    response = Response(mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    csrf = session.ensure_csrf(request, response, over_tls())
    # A platform admin of a multi-tenant deployment may read any tenant's missions (?tenant=).
    body = {
        **who,
        "permissions": sorted(permissions),
        "csrf": csrf,
        "profile": settings.profile,
        "all_tenants": settings.multi_tenancy and is_platform_caller() and ADMIN in permissions,
    }
    response.set_data(orjson.dumps(body))
    return response


@blp.get("/static/<path:name>")
def asset(name: str) -> Response:
    if name in {"index.html", "login.html"}:
        abort(404)
    return send_from_directory(ASSETS, name, max_age=300)
