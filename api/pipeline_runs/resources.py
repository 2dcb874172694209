"""HTTP endpoints of pipeline runs: list, read one with every node, cancel, retry."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.app_settings import app_settings
from api.auth import current_actor, current_tenant, requires
from api.pipeline_runs.schemas import RunDetailSchema, RunListArgs, RunPageSchema
from brain.db import read_scope, session_scope
from brain.models.pipeline import PipelineRun
from brain.pipelines import runs as service
from brain.security.roles import READ, SUBMIT

blp = Blueprint(
    "pipeline_runs", __name__, url_prefix="/api/pipeline-runs", description="Pipeline runs: read, cancel, retry"
)
SUMMARY_CHARS = 200


def run_view(session: Session, run: PipelineRun, *, with_nodes: bool = True) -> dict[str, Any]:
    """A run as the API shows it; with every node and fan-out item (status, mission, timings, result summary)."""
    view = {
        **{k: getattr(run, k) for k in ("id", "pipeline", "version", "status", "inputs", "outputs", "error")},
        "parent_run_id": service.parent_run_id(session, run),
        "created_by": run.created_by,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "duration_s": (run.finished_at - run.created_at).total_seconds() if run.finished_at else None,
    }
    if with_nodes:
        view["nodes"] = [_node_view(row.PipelineNode, row.mission_status) for row in service.nodes_of(session, run)]
    return view


def _node_view(node, mission_status: str | None) -> dict[str, Any]:
    summary = None
    if node.result is not None:
        text = json.dumps(node.result, separators=(",", ":"), default=str)
        summary = text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
    return {
        "node": node.node,
        "item_index": node.item_index if node.item_index >= 0 else None,
        "status": node.status,
        "attempts": node.attempts,
        "mission_id": node.mission_id,
        "mission_status": mission_status,
        "child_run_id": node.child_run_id,
        "ready_at": node.ready_at,
        "started_at": node.started_at,
        "finished_at": node.finished_at,
        "result_summary": summary,
        "error": node.error,
    }


@blp.route("")
class PipelineRuns(MethodView):
    @blp.arguments(RunListArgs, location="query")
    @blp.response(200, RunPageSchema)
    @requires(READ)
    def get(self, args: dict):
        """The caller's runs, newest first, by cursor; filter by `pipeline` and `status`."""
        with read_scope(app_settings().database_url) as session:
            items, next_cursor = service.list_runs(session, current_tenant(), **args)
            return {"items": [run_view(session, r, with_nodes=False) for r in items], "next_cursor": next_cursor}


@blp.route("/<uuid:run_id>")
class PipelineRunById(MethodView):
    @blp.response(200, RunDetailSchema)
    @blp.alt_response(404, description="No such run")
    @requires(READ)
    def get(self, run_id: uuid.UUID):
        """One run: its status, inputs, outputs and every node with its mission, timings and result summary."""
        with read_scope(app_settings().database_url) as session:
            return run_view(session, service.get_run(session, run_id, current_tenant()))


@blp.route("/<uuid:run_id>/cancel")
class PipelineRunCancel(MethodView):
    @blp.response(200, RunDetailSchema)
    @blp.alt_response(404, description="No such run")
    @blp.alt_response(409, description="The run already ended")
    @requires(SUBMIT)
    def post(self, run_id: uuid.UUID):
        """Cancel: nodes not started end now; queued and running node missions are cancelled right after."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            service.cancel_run(session, settings, run_id, current_tenant(), actor=current_actor())
        return _read(run_id)


@blp.route("/<uuid:run_id>/retry")
class PipelineRunRetry(MethodView):
    @blp.response(200, RunDetailSchema)
    @blp.alt_response(404, description="No such run")
    @blp.alt_response(409, description="The run is not failed or cancelled, or is still cancelling")
    @requires(SUBMIT)
    def post(self, run_id: uuid.UUID):
        """Run a failed or cancelled run again from the nodes that did not succeed (succeeded ones are kept)."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            service.retry_run(session, settings, run_id, current_tenant(), actor=current_actor())
        return _read(run_id)


def _read(run_id: uuid.UUID) -> dict[str, Any]:
    """The run as committed (after-commit cancels included, as far as they went)."""
    with read_scope(app_settings().database_url) as session:
        return run_view(session, service.get_run(session, run_id, current_tenant()))
