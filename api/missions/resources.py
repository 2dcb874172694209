"""HTTP endpoints of the missions resource."""

from __future__ import annotations

import uuid

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_actor, current_tenant, is_platform_caller, reading_tenant
from api.errors import brain_error_body
from api.missions.schemas import (
    BatchResultSchema,
    InfoSchema,
    MissionBatchSchema,
    MissionCreateSchema,
    MissionListArgs,
    MissionPageSchema,
    MissionSchema,
    TenantArgs,
)
from brain import __version__, submission
from brain.agents import registered_agents
from brain.agents.payload_schema import payload_schema
from brain.db import read_scope, session_scope
from brain.dispatch import queue_depths
from brain.models import Mission
from brain.services import cancel_signal
from brain.services import missions as service
from brain.state import WORKER_KEY_PATTERN, get_redis

blp = Blueprint("missions", __name__, url_prefix="/api/missions", description="Missions: submit, read, list, cancel")


def _submitter() -> dict[str, str | None]:
    """Who submits, from the request: its Idempotency-Key, tenant and actor."""
    # The token decides tenant and actor; X-Actor only names an anonymous (minimal-profile) caller.
    return {
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "tenant": current_tenant(),
        "actor": current_actor() or request.headers.get("X-Actor"),
    }


def _enqueue(body: dict) -> tuple[Mission, int, dict[str, str]]:
    settings = app_settings()
    with session_scope(settings.database_url) as session:
        submitted = submission.submit_loaded(session, settings, body, **_submitter())
    if submitted.denied:
        raise submitted.denial()  # stored for the audit trail, answered 403
    location = url_for("missions.MissionById", mission_id=submitted.mission.id)
    return submitted.mission, 202, {"Location": location}


@blp.route("")
class Missions(MethodView):
    @blp.arguments(MissionCreateSchema)
    @blp.response(202, MissionSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with a different body")
    @blp.alt_response(422, description="Validation failed (fields, unknown agent, rejected payload)")
    def post(self, body: dict):
        """Submit a mission (202; `Location` points at it). `Idempotency-Key` makes retries safe."""
        return _enqueue(body)

    @blp.arguments(MissionListArgs, location="query")
    @blp.response(200, MissionPageSchema)
    def get(self, args: dict):
        """List missions, newest first, by cursor."""
        with reading_tenant(args.pop("tenant", None)) as tenant, read_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_missions(session, tenant=tenant, **args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/batch")
class MissionBatch(MethodView):
    @blp.arguments(MissionBatchSchema)
    @blp.response(200, BatchResultSchema)
    @blp.alt_response(422, description="Not 1-1000 missions, or an invalid Idempotency-Key")
    def post(self, body: dict):
        """Submit up to 1000 missions in one transaction; per-item results in order (a mission, or its error)."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            results = submission.submit_batch(session, settings, body["missions"], **_submitter())
            items = [_batch_item(result) for result in results]
        accepted = sum(1 for item in items if item["status"] == 202)
        return {"items": items, "accepted": accepted, "refused": len(items) - accepted}


def _batch_item(result) -> dict:
    if isinstance(result, submission.Submitted):
        return {"status": 202, "mission": result.mission, "error": None}
    code, error = brain_error_body(result)
    return {"status": code, "mission": None, "error": error}


@blp.route("/enqueue")
class MissionEnqueue(MethodView):
    @blp.arguments(MissionCreateSchema)
    @blp.response(202, MissionSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with a different body")
    def post(self, body: dict):
        """Alias of `POST /api/missions`."""
        return _enqueue(body)


def _payload_schemas() -> dict[str, dict]:
    schemas = {name: payload_schema(agent) for name, agent in registered_agents().items()}
    return {name: schema for name, schema in sorted(schemas.items()) if schema is not None}


@blp.route("/info")
class MissionInfo(MethodView):
    @blp.response(200, InfoSchema)
    def get(self):
        """Platform name, version, profile, queue depths and live worker count."""
        settings = app_settings()
        client = get_redis(settings)
        # Queue depths count every tenant's missions: the platform's to see.
        queues = queue_depths(current_app.extensions["brain_broker_redis"]) if is_platform_caller() else {}
        workers = sum(1 for _ in client.scan_iter(match=WORKER_KEY_PATTERN, count=1000))
        return {
            "name": "BRAiN",
            "version": __version__,
            "profile": settings.profile,
            "queues": queues,
            "workers_online": workers,
            "agents": sorted(registered_agents()),
            "payload_schemas": _payload_schemas(),
            "modules": list(settings.modules),
        }


@blp.route("/<uuid:mission_id>")
class MissionById(MethodView):
    @blp.arguments(TenantArgs, location="query")
    @blp.response(200, MissionSchema)
    @blp.alt_response(404, description="No such mission")
    def get(self, args: dict, mission_id: uuid.UUID):
        """One mission."""
        with reading_tenant(args.get("tenant")) as tenant, read_scope(app_settings().database_url) as session:
            return service.get_mission(session, mission_id, tenant)


@blp.route("/<uuid:mission_id>/cancel")
class MissionCancel(MethodView):
    @blp.response(200, MissionSchema)
    @blp.alt_response(404, description="No such mission")
    @blp.alt_response(409, description="The mission already finished")
    def post(self, mission_id: uuid.UUID):
        """Cancel: a queued mission never starts; a running one is terminated."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            mission, was_running = service.cancel_mission(
                session, mission_id, tenant=current_tenant(), actor=current_actor(), settings=settings
            )
        celery_app = current_app.extensions["brain_celery"]
        cancel_signal.signal(settings, celery_app, str(mission_id), mission.agent, was_running)
        return mission
