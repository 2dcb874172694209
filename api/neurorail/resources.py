"""GET /api/neurorail/reflexes, POST /api/neurorail/reflexes/{name}/reset, GET /api/neurorail/rollout."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_tenant, is_platform_caller, require_platform
from brain.db import session_scope
from brain.errors import NotFound
from brain.rails import reflex as breakers
from brain.rails.rollout import current_percentage, forget_cached_percentage
from brain.services import audit
from brain.state import get_redis

blp = Blueprint("neurorail", __name__, url_prefix="/api/neurorail", description="NeuroRail: breakers and rollout")


class BreakerSchema(ma.Schema):
    name = ma.fields.String()
    state = ma.fields.String(metadata={"enum": ["closed", "half_open", "open"]})
    failures_in_window = ma.fields.Integer()
    open_until = ma.fields.DateTime(allow_none=True)
    probe_mission_id = ma.fields.String(allow_none=True)


class BreakerListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BreakerSchema))


class RolloutSchema(ma.Schema):
    phase = ma.fields.Integer()
    enforcement_percentage = ma.fields.Integer()
    timeout_enforcement = ma.fields.Boolean()
    budget_enforcement = ma.fields.Boolean()
    reflex_system = ma.fields.Boolean()


def _as_seen_by(item: dict, tenant: str, scope: str) -> dict | None:
    """A customer tenant sees the breakers its missions pass, never another tenant's mission in them."""
    if scope == "tenant_agent" and not item["name"].startswith(f"{tenant}:"):
        return None
    return {**item, "probe_mission_id": None} if scope != "tenant_agent" else item


def _as_time(value: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value else None


@blp.route("/reflexes")
class Reflexes(MethodView):
    @blp.response(200, BreakerListSchema)
    def get(self):
        """Every circuit breaker: state, failures in the window, open until."""
        s = app_settings()
        items = breakers.list_breakers(get_redis(s), s.neurorail_reflex_window_s)
        if not is_platform_caller():
            items = [_as_seen_by(item, current_tenant(), s.neurorail_reflex_scope) for item in items]
            items = [item for item in items if item is not None]
        for item in items:
            item["open_until"] = _as_time(item["open_until"])
        return {"items": items}


@blp.route("/reflexes/<string:name>/reset")
class ReflexReset(MethodView):
    @blp.response(200, BreakerSchema)
    @blp.alt_response(404, description="No breaker of that name")
    def post(self, name: str):
        """Close a breaker now and forget its failures (every tenant's missions pass it: the platform's call)."""
        require_platform("circuit breakers")
        s = app_settings()
        if not breakers.reset(get_redis(s), name):
            raise NotFound(f"no circuit breaker named {name!r}")
        with session_scope(s.database_url) as session:
            audit.record(session, "reflex.closed", data={"breaker": name, "reason": "reset"})
        return {"name": name, "state": "closed", "failures_in_window": 0, "open_until": None, "probe_mission_id": None}


@blp.route("/rollout")
class Rollout(MethodView):
    @blp.response(200, RolloutSchema)
    def get(self):
        """Phase, the live enforcement percentage (after any rollback) and the per-rail flags."""
        s = app_settings()
        forget_cached_percentage()
        return {
            "phase": s.neurorail_phase,
            "enforcement_percentage": current_percentage(s, get_redis(s)),
            "timeout_enforcement": s.neurorail_enable_timeout_enforcement,
            "budget_enforcement": s.neurorail_enable_budget_enforcement,
            "reflex_system": s.neurorail_enable_reflex_system,
        }
