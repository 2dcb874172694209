"""HTTP endpoints of the events resource, including the resumable SSE tail."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_tenant, reading_tenant
from api.events.schemas import (
    EventListArgs,
    EventPageSchema,
    EventSchema,
    EventStreamArgs,
    MissionEventsSchema,
)
from brain.config import Settings
from brain.db import session_scope
from brain.errors import InvalidMission
from brain.services import audit
from brain.services import events as service
from brain.tenancy.scope import tenant_scope

blp = Blueprint("events", __name__, url_prefix="/api", description="Audit events: pages, a mission's life, live tail")

POLL_S = 0.5
KEEPALIVE_S = 10.0
RETRY_MS = 1000
_dump = EventSchema().dump


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventPageSchema)
    def get(self, args: dict):
        """Events newest first, by cursor; filter by type (`mission.*` for a family), mission_id, since."""
        with reading_tenant(args.pop("tenant", None)) as tenant, session_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_events(session, tenant=tenant, **args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/missions/<uuid:mission_id>/events")
class MissionEvents(MethodView):
    @blp.response(200, MissionEventsSchema)
    @blp.alt_response(404, description="No such mission")
    def get(self, mission_id: uuid.UUID):
        """Every event of one mission, in the order it happened (oldest first)."""
        with session_scope(app_settings().database_url) as session:
            return {"items": service.mission_events(session, mission_id, current_tenant())}


def _start_id(args: dict, settings: Settings) -> int:
    raw = request.headers.get("Last-Event-ID")
    if raw is not None:
        raw = raw.strip()
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 2**63 - 1:
            raise InvalidMission("invalid Last-Event-ID", "Last-Event-ID", ["Must be an event id."], "headers")
        return int(raw)
    if "last_event_id" in args:
        return args["last_event_id"]
    # No position given: only what happens from now on.
    with session_scope(settings.database_url) as session:
        return audit.last_id(session)


def _frames(
    settings: Settings, after: int, tenant: str, type_: str | None, mission_id: uuid.UUID | None
) -> Iterator[str]:
    # A stream holds one gthread thread: poll briefly, end after a bounded time;
    # EventSource reconnects by itself and resumes with Last-Event-ID.
    yield f"retry: {RETRY_MS}\n: tail after {after}\n\n"
    deadline = time.monotonic() + settings.events_stream_max_s
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        # The server iterates this after the view has returned: state the scope, do not inherit it.
        with tenant_scope(tenant), session_scope(settings.database_url) as session:
            batch = service.events_after(session, after, type=type_, mission_id=mission_id, tenant=tenant)
            frames = [(e.id, e.type, json.dumps(_dump(e), default=str)) for e in batch]
        for event_id, type_name, payload in frames:
            after = event_id
            yield f"id: {event_id}\nevent: {type_name}\ndata: {payload}\n\n"
        if frames:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        time.sleep(POLL_S)


@blp.route("/events/stream")
class EventStream(MethodView):
    @blp.arguments(EventStreamArgs, location="query")
    @blp.response(200, description="text/event-stream; each event's `id:` is its event id")
    def get(self, args: dict):
        """Live tail (Server-Sent Events) from `Last-Event-ID`, or from now; ends after a while, reconnect."""
        settings = app_settings()
        after = _start_id(args, settings)
        # The generator runs after the request context is gone: resolve the tenant now.
        frames = _frames(settings, after, current_tenant(), args.get("type"), args.get("mission_id"))
        return Response(
            frames, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
