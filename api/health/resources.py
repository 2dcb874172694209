"""GET /health/live and /health/ready (database and broker reachable)."""

from __future__ import annotations

import time

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from api.app_settings import app_settings
from api.errors import error_body
from brain.db import get_engine
from brain.state import get_broker_redis, get_redis

blp = Blueprint("health", __name__, url_prefix="/health", description="Probes for orchestrators")


def _check(fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"unreachable: {type(exc).__name__}"


def _database() -> None:
    with get_engine(app_settings().database_url).connect() as conn:
        conn.execute(text("SELECT 1"))


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
        settings = app_settings()
        started = time.monotonic()
        checks = {
            "database": _check(_database),
            "redis": _check(lambda: get_redis(settings).ping()),
            "broker": _check(lambda: get_broker_redis(settings).ping()),
        }
        failing = [name for name, state in checks.items() if state != "ok"]
        if failing:
            body = error_body(503, f"not ready: {', '.join(failing)} unreachable", "not_ready",
                              {"dependencies": checks})
            return jsonify(body), 503
        return {"status": "ok", "dependencies": checks, "took_ms": round((time.monotonic() - started) * 1000, 1)}
