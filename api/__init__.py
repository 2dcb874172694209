"""The BRAiN HTTP API: create_app() wires settings, resources, errors and metrics."""

from __future__ import annotations

from brain import metrics_dir

metrics_dir.prepare("api")

from flask import Flask  # noqa: E402
from flask_smorest import Api  # noqa: E402

from api import errors, request_context  # noqa: E402
from brain import __version__  # noqa: E402
from brain.agents.registry import load_agents  # noqa: E402
from brain.config import Settings, get_settings  # noqa: E402
from brain.schema import require_current  # noqa: E402
from brain.state import get_broker_redis  # noqa: E402

# Each entry is a package with resources.py exposing `blp`.
MODULES = ("missions", "health")


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> Flask:
    settings = settings or get_settings()
    if check_schema:
        require_current(settings.database_url)
    load_agents(settings.agent_modules)
    app = Flask("brain")
    app.config.update(
        BRAIN_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="BRAiN",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    api = Api(app)
    api.ERROR_SCHEMA = errors.ErrorSchema
    for name in MODULES:
        module = __import__(f"api.{name}.resources", fromlist=["blp"])
        api.register_blueprint(module.blp)
    errors.register(app)
    request_context.register(app)
    from brain.celery import app as celery_app

    app.extensions["brain_celery"] = celery_app
    app.extensions["brain_broker_redis"] = get_broker_redis(settings)
    _metrics(app)
    return app


def _metrics(app: Flask) -> None:
    from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

    # Multiprocess mode: /metrics sums every gunicorn worker's samples.
    GunicornInternalPrometheusMetrics(app, group_by="endpoint", defaults_prefix="brain_api")
