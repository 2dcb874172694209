"""HTTP endpoints of the policies resource."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import require_platform
from api.errors import error_body
from api.policies.schemas import PolicySetSchema, ReloadSchema
from brain.errors import BrainError
from brain.governance import get_store
from brain.governance.store import PolicyStore

blp = Blueprint(
    "policies", __name__, url_prefix="/api/policies", description="Governance policies: the active set, reload"
)


def _store() -> tuple[PolicyStore, Any]:
    settings = app_settings()
    return get_store(settings), settings


def _view(store: PolicyStore, settings: Any) -> dict[str, Any]:
    active = store.active
    body: dict[str, Any] = (
        active.describe() if active else {"version": None, "directory": str(store.directory), "files": [], "rules": []}
    )
    body["governance_enabled"] = settings.governance_enabled
    body["problems"] = [p.as_dict() for p in store.problems]
    return body


@blp.route("")
class Policies(MethodView):
    @blp.response(200, PolicySetSchema)
    def get(self):
        """The policy set in force: version (content hash), files, rules in evaluation order, problems."""
        require_platform("policies (their rules may name any tenant)")
        store, settings = _store()
        try:
            store.current()  # picks up edited files first
        except BrainError:
            pass  # nothing valid loaded yet: the body says so and lists the problems
        return _view(store, settings)


@blp.route("/reload")
class PoliciesReload(MethodView):
    @blp.response(200, ReloadSchema)
    @blp.alt_response(422, description="A policy file is invalid; the last good set stays in force")
    def post(self):
        """Re-read every policy file now. On any problem nothing changes and the problems are listed."""
        require_platform("policies")
        store, settings = _store()
        previous = store.active.version if store.active else None
        active, problems = store.reload()
        if problems:
            message = f"{len(problems)} problem(s) in {store.directory}; still enforcing version {previous}"
            response = jsonify(
                error_body(
                    422,
                    message,
                    "policy_invalid",
                    {"problems": [p.as_dict() for p in problems], "active_version": previous},
                )
            )
            response.status_code = 422
            return response
        body = _view(store, settings)
        body.update(changed=active.version != previous, previous_version=previous)
        return body
