"""GET /api/system/health: dependencies, workers, queues, recent outcomes, uptime and availability."""

from __future__ import annotations

import time

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import require_platform, requires
from brain.security.roles import ADMIN
from brain.services import health

blp = Blueprint("system", __name__, url_prefix="/api/system", description="System view for operators")

STARTED_AT = time.time()


class HealthArgs(ma.Schema):
    window_s = ma.fields.Integer(
        load_default=86400,
        validate=ma.validate.Range(min=60, max=90 * 86400),
        metadata={"description": "SLA window in seconds (default 24 h)"},
    )


@blp.route("/health")
class SystemHealth(MethodView):
    @requires(ADMIN)  # every tenant's numbers: operators only
    @blp.arguments(HealthArgs, location="query")
    @blp.response(200)
    def get(self, args: dict):
        """Dependencies with latency, workers, queue depth and oldest age, last hour, uptime, SLA."""
        require_platform("the system view (every tenant's numbers)")
        settings = app_settings()
        body = health.snapshot(settings, STARTED_AT)
        try:
            body["sla"] = health.availability(settings, args["window_s"])
        except Exception as exc:  # noqa: BLE001 - the database is down: say so, still answer
            body["sla"] = {
                "window_s": args["window_s"],
                "availability": None,
                "error": f"unavailable: {type(exc).__name__}",
            }
        return body
