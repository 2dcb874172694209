"""HTTP endpoints of the pipelines resource: apply a definition, list, read versions, roll back."""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_actor, current_tenant, requires
from api.pipeline_runs.resources import run_view
from api.pipeline_runs.schemas import RunDetailSchema, RunStartSchema
from api.pipelines.schemas import (
    AppliedSchema,
    ApplySchema,
    PipelineListArgs,
    PipelinePageSchema,
    PipelineSchema,
    RollbackSchema,
    VersionDetailSchema,
    VersionListSchema,
)
from brain.db import read_scope, session_scope
from brain.models import Pipeline, PipelineVersion
from brain.pipelines import runs
from brain.pipelines import versions as service
from brain.security.roles import READ, SUBMIT
from brain.services.pagination import decode_name_cursor, encode_name_cursor

blp = Blueprint("pipelines", __name__, url_prefix="/api/pipelines", description="Pipelines: DAGs of missions")
NAME = "<string(maxlength=64):pipeline_name>"


def _described(row: PipelineVersion, current: int) -> dict:
    definition = service.definition_of(row)
    return {
        "name": row.name,
        "version": row.version,
        "label": row.label,
        "content_hash": row.content_hash,
        "current": row.version == current,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "source": row.source,
        "description": definition.description,
        "inputs": [vars(i) for i in definition.inputs],
        "nodes": [
            {
                "id": n.id,
                "type": n.type,
                "dependencies": list(n.dependencies),
                "agent": n.agent,
                "transform": n.transform,
                "pipeline": n.pipeline,
                "foreach": n.foreach is not None,
                "condition": n.condition is not None,
                "on_failure": n.on_failure,
            }
            for n in definition.nodes
        ],
        "outputs": list(definition.outputs),
    }


def _pipeline(session, pipeline: Pipeline) -> dict:
    current = service.version_of(session, pipeline.tenant, pipeline.name, pipeline.current_version)
    return {
        "name": pipeline.name,
        "current_version": pipeline.current_version,
        "latest_version": pipeline.latest_version,
        "label": current.label,
        "description": service.definition_of(current).description,
        "created_at": pipeline.created_at,
        "updated_at": pipeline.updated_at,
    }


@blp.route("")
class Pipelines(MethodView):
    @blp.arguments(PipelineListArgs, location="query")
    @blp.response(200, PipelinePageSchema)
    def get(self, args: dict):
        """The caller's pipelines by name, each with its current version."""
        limit = args["limit"]
        after = decode_name_cursor(args["cursor"]) if args.get("cursor") else None
        with read_scope(app_settings().database_url) as session:
            rows = service.list_pipelines(session, current_tenant(), limit + 1, after)
            items = [_pipeline(session, p) for p in rows[:limit]]
        more = len(rows) > limit
        next_cursor = encode_name_cursor(rows[limit - 1].name) if more else None
        return {"items": items, "next_cursor": next_cursor}


@blp.route(f"/{NAME}")
class PipelineByName(MethodView):
    @blp.arguments(ApplySchema)
    @blp.response(201, AppliedSchema)
    @blp.alt_response(200, schema=AppliedSchema, description="The same text is already the current version")
    @blp.alt_response(422, description="The definition has problems: every one listed with file, line, node, field")
    @requires(SUBMIT)
    def put(self, body: dict, pipeline_name: str):
        """Apply a definition: it becomes a new immutable version and the current one."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            row, created = service.apply(
                session,
                current_tenant(),
                pipeline_name,
                body["source"],
                actor=current_actor(),
                agent_modules=settings.agent_modules,
            )
            current = row.version if created else _current(session, pipeline_name)
            shown = {**_described(row, current), "created": created}
        return shown, 201 if created else 200

    @blp.response(200, VersionDetailSchema)
    @blp.alt_response(404, description="No such pipeline")
    @requires(READ)
    def get(self, pipeline_name: str):
        """The pipeline's current version: its source, inputs, nodes and outputs."""
        with read_scope(app_settings().database_url) as session:
            row = service.current(session, current_tenant(), pipeline_name)
            return _described(row, row.version)


def _current(session, name: str) -> int:
    return service.get_pipeline(session, current_tenant(), name).current_version


@blp.route(f"/{NAME}/versions")
class PipelineVersions(MethodView):
    @blp.response(200, VersionListSchema)
    @blp.alt_response(404, description="No such pipeline")
    @requires(READ)
    def get(self, pipeline_name: str):
        """Every version, newest first."""
        with read_scope(app_settings().database_url) as session:
            current = _current(session, pipeline_name)
            rows = service.list_versions(session, current_tenant(), pipeline_name)
            return {"items": [{**vars(r), "current": r.version == current} for r in rows]}


@blp.route(f"/{NAME}/versions/<int:version>")
class PipelineVersionByNumber(MethodView):
    @blp.response(200, VersionDetailSchema)
    @blp.alt_response(404, description="No such pipeline or version")
    @requires(READ)
    def get(self, pipeline_name: str, version: int):
        """One version as it was applied."""
        with read_scope(app_settings().database_url) as session:
            current = _current(session, pipeline_name)
            return _described(service.version_of(session, current_tenant(), pipeline_name, version), current)


@blp.route(f"/{NAME}/rollback")
class PipelineRollback(MethodView):
    @blp.arguments(RollbackSchema)
    @blp.response(200, PipelineSchema)
    @blp.alt_response(404, description="No such pipeline or version")
    @blp.alt_response(409, description="That version is already current, or there is none before it")
    @requires(SUBMIT)
    def post(self, body: dict, pipeline_name: str):
        """Make an earlier version current again (runs already started keep the version they pinned)."""
        with session_scope(app_settings().database_url) as session:
            pipeline = service.rollback(
                session, current_tenant(), pipeline_name, body.get("version"), actor=current_actor()
            )
            session.flush()
            return _pipeline(session, pipeline)


@blp.route(f"/{NAME}/runs")
class PipelineRunStart(MethodView):
    @blp.arguments(RunStartSchema)
    @blp.response(202, RunDetailSchema)
    @blp.alt_response(404, description="No such pipeline")
    @blp.alt_response(409, description="Idempotency-Key reused with different inputs")
    @blp.alt_response(422, description="Inputs that are unknown, missing or of the wrong type: every one listed")
    @requires(SUBMIT)
    def post(self, body: dict, pipeline_name: str):
        """Start a run of the current version (202; `Location` points at it). `Idempotency-Key` makes retries safe."""
        settings = app_settings()
        with session_scope(settings.database_url) as session:
            run, _ = runs.start_run(
                session,
                settings,
                current_tenant(),
                pipeline_name,
                body["inputs"],
                actor=current_actor(),
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
            run_id = run.id
        with read_scope(settings.database_url) as session:
            view = run_view(session, runs.get_run(session, run_id, current_tenant()))
        return view, 202, {"Location": url_for("pipeline_runs.PipelineRunById", run_id=run_id)}
