"""GET /health/live and /health/ready (database and broker reachable)."""

from __future__ import annotations

import time

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.errors import RETRY_AFTER_S, error_body
from brain.services import health

blp = Blueprint("health", __name__, url_prefix="/health", description="Probes for orchestrators")


@blp.route("/live")
class Live(MethodView):
    @blp.response(200)
    def get(self):
        """The process is up."""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200)
    @blp.alt_response(503, description="A dependency is unreachable")
    def get(self):
        """Database, state Redis and broker reachable; otherwise 503 naming what failed."""
        started = time.monotonic()
        checks = {name: probe["status"] for name, probe in health.dependencies(app_settings()).items()}
        failing = [name for name, state in checks.items() if state != "ok"]
        if failing:
            body = error_body(
                503, f"not ready: {', '.join(failing)} unreachable", "not_ready", {"dependencies": checks}
            )
            return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_S)}
        return {"status": "ok", "dependencies": checks, "took_ms": round((time.monotonic() - started) * 1000, 1)}
