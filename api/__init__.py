"""The BRAiN HTTP API: create_app() wires settings, resources, errors and metrics."""

from __future__ import annotations

from brain import metrics_dir

metrics_dir.prepare("api")

from flask import Flask  # noqa: E402
from flask_smorest import Api  # noqa: E402

from api import access_log, auth, errors, rate_limits, request_context, security_headers  # noqa: E402
from api.console import resources as console  # noqa: E402
from api.docs import resources as docs  # noqa: E402
from api.json_provider import OrjsonProvider  # noqa: E402
from api.metrics_export import BrainMetrics  # noqa: E402
from brain import __version__, crypto, secrets  # noqa: E402
from brain import logging as brain_logging  # noqa: E402
from brain.agents.registry import load_agents  # noqa: E402
from brain.config import Settings, get_settings  # noqa: E402
from brain.queue_metrics import QueueCollector  # noqa: E402
from brain.rails.collector import NeuroRailCollector  # noqa: E402
from brain.schema import require_current  # noqa: E402
from brain.state import get_broker_redis  # noqa: E402
from brain.tenancy.db_role import require_isolating_role  # noqa: E402
from brain.tenancy.tenant_metrics import TenantCollector  # noqa: E402

# Each entry is a package with resources.py exposing `blp`, and the BRAiN module it belongs to
# (None: always there). A module that is off (BRAIN_MODULES) has no routes: they are 404s.
MODULES = {
    "missions": "missions",
    "health": None,
    "events": "audit",
    "system": "metrics",
    "policies": "governance",
    "approvals": "governance",
    "neurorail": "neurorail",
    "budgets": "neurorail",
    "tenants": None,
    "pipelines": None,
    "pipeline_runs": None,
}


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> Flask:
    settings = settings or get_settings()
    if check_schema:
        require_current(settings.database_url)
        require_isolating_role(settings.database_url, settings.multi_tenancy)
    load_agents(settings.agent_modules)
    secrets.check_backend(settings)
    crypto.configure(settings)
    crypto.check(settings)
    brain_logging.configure("api", settings.log_level, settings.log_format)
    app = Flask("brain")
    # "//" in a path is a 404 in the error shape, not Werkzeug's HTML redirect to the merged path.
    app.url_map.merge_slashes = False
    app.json = OrjsonProvider(app)
    app.config.update(
        BRAIN_SETTINGS=settings,  # read through api.app_settings.app_settings()
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="BRAiN",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    api = Api()
    api.ERROR_SCHEMA = errors.ErrorSchema  # before init_app, which documents the error responses with it
    api.init_app(app)
    auth.document(api)
    for name, brain_module in MODULES.items():
        if brain_module is None or brain_module in settings.modules:
            api.register_blueprint(__import__(f"api.{name}.resources", fromlist=["blp"]).blp)
    app.register_blueprint(docs.blp)  # Swagger UI, from the package (no CDN)
    app.register_blueprint(console.blp)  # the operator console, its assets in the package
    errors.register(app)
    request_context.register(app)
    access_log.register(app)
    # Per-request order: request id → authentication → rate limits → authorization → JSON limits; then headers.
    auth.register_authentication(app)
    rate_limits.register(app)
    auth.register_authorization(app)
    request_context.register_limits(app)
    security_headers.register(app)
    # Imported here, not at the top: importing brain.celery builds the Celery app (and on the
    # minimal profile starts the embedded Redis), which only an app that serves needs.
    from brain.celery import app as celery_app

    app.extensions["brain_celery"] = celery_app
    app.extensions["brain_broker_redis"] = get_broker_redis(settings)
    if "metrics" in settings.modules:
        _metrics(app, settings)
    return app


def _metrics(app: Flask, settings: Settings) -> None:
    # Multiprocess mode: /metrics sums every gunicorn worker's samples; queue and
    # worker gauges read shared state at scrape time, so they are never summed.
    exporter = BrainMetrics(app, QueueCollector(settings), group_by="endpoint", defaults_prefix="brain_api")
    exporter.add_collector(NeuroRailCollector(settings))
    exporter.add_collector(TenantCollector(settings))
