"""HTTP endpoints of the missions resource."""

from __future__ import annotations

import logging
import uuid

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import update

from api.app_settings import app_settings
from api.auth import current_actor, current_tenant
from api.missions.schemas import (
    InfoSchema,
    MissionCreateSchema,
    MissionListArgs,
    MissionPageSchema,
    MissionSchema,
)
from brain import __version__, metrics
from brain.agents import registered_agents
from brain.db import read_scope, session_scope
from brain.dispatch import CONTROL_QUEUE, MISSION_QUEUE, publish, queue_keys
from brain.errors import InvalidMission
from brain.governance.admission import denied_error
from brain.models import Mission
from brain.services import missions as service
from brain.state import WORKER_KEY_PATTERN, cancel_key, get_redis
from brain.time_limits import check_requested

log = logging.getLogger("brain.api.missions")

blp = Blueprint("missions", __name__, url_prefix="/api/missions", description="Missions: submit, read, list, cancel")



def _enqueue(body: dict) -> tuple[Mission, int, dict[str, str]]:
    settings = app_settings()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidMission("invalid Idempotency-Key", "Idempotency-Key", ["Must be 1-255 characters."],
                             "headers")
    check_requested(settings, body.get("timeout_s"))
    with session_scope(settings.database_url) as session:
        # The token decides tenant and actor; X-Actor only names an anonymous (minimal-profile) caller.
        mission, created = service.create_mission(session, body, idempotency_key=key, settings=settings,
                                                  tenant=current_tenant(),
                                                  actor=current_actor() or request.headers.get("X-Actor"))
    if mission.status == "rejected" and mission.decision:
        raise denied_error(mission)  # stored for the audit trail, answered 403
    # Only a queued mission is published: one awaiting approval holds no message and no worker slot.
    if created and mission.status == "queued":
        _publish_or_leave_to_sweeper(settings, mission)
    if created:
        metrics.MISSIONS_ENQUEUED.labels(mission.agent, mission.priority).inc()
    location = url_for("missions.MissionById", mission_id=mission.id)
    return mission, 202, {"Location": location}


def _publish_or_leave_to_sweeper(settings, mission: Mission) -> None:
    try:
        publish(current_app.extensions["brain_celery"], settings, mission)
    except Exception as exc:  # noqa: BLE001 - the row is committed; the sweeper publishes it
        log.warning("publishing mission %s failed (%s); the sweeper will retry", mission.id, exc)
        try:
            with session_scope(settings.database_url) as session:
                session.execute(update(Mission).where(Mission.id == mission.id).values(dispatched_at=None))
        except Exception:
            log.exception("could not flag mission %s as unpublished", mission.id)


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
        with read_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_missions(session, tenant=current_tenant(), **args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/enqueue")
class MissionEnqueue(MethodView):
    @blp.arguments(MissionCreateSchema)
    @blp.response(202, MissionSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with a different body")
    def post(self, body: dict):
        """Alias of `POST /api/missions`."""
        return _enqueue(body)


@blp.route("/info")
class MissionInfo(MethodView):
    @blp.response(200, InfoSchema)
    def get(self):
        """Platform name, version, profile, queue depths and live worker count."""
        settings = app_settings()
        client = get_redis(settings)
        broker = current_app.extensions["brain_broker_redis"]
        queues = {}
        for queue in (MISSION_QUEUE, CONTROL_QUEUE):
            pipe = broker.pipeline(transaction=False)
            for key in queue_keys(queue):
                pipe.llen(key)
            queues[queue] = sum(pipe.execute())
        workers = sum(1 for _ in client.scan_iter(match=WORKER_KEY_PATTERN, count=1000))
        return {
            "name": "BRAiN",
            "version": __version__,
            "profile": settings.profile,
            "queues": queues,
            "workers_online": workers,
            "agents": sorted(registered_agents()),
        }


@blp.route("/<uuid:mission_id>")
class MissionById(MethodView):
    @blp.response(200, MissionSchema)
    @blp.alt_response(404, description="No such mission")
    def get(self, mission_id: uuid.UUID):
        """One mission."""
        with read_scope(app_settings().database_url) as session:
            return service.get_mission(session, mission_id, current_tenant())


@blp.route("/<uuid:mission_id>/cancel")
class MissionCancel(MethodView):
    @blp.response(200, MissionSchema)
    @blp.alt_response(404, description="No such mission")
    @blp.alt_response(409, description="The mission already finished")
    def post(self, mission_id: uuid.UUID):
        """Cancel: a queued mission never starts; a running one is terminated."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            mission, was_running = service.cancel_mission(session, mission_id, tenant=current_tenant(),
                                                          actor=current_actor())
        metrics.MISSIONS_FINISHED.labels(mission.agent, "cancelled").inc()
        get_redis(settings).set(cancel_key(str(mission_id)), 1, ex=7 * 86400)
        if was_running:
            celery_app = current_app.extensions["brain_celery"]
            celery_app.control.revoke(str(mission_id), terminate=True, signal="SIGTERM")
        return mission
