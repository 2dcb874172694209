"""Pipeline runs: start one (pinning the current version), read them, cancel one, retry one from its failed nodes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from brain.config import Settings
from brain.db import utcnow
from brain.errors import Conflict, IdempotencyConflict, InvalidMission, InvalidPipeline, NotFound
from brain.json_limits import problems as json_problems
from brain.models import Mission
from brain.models.pipeline import FINAL_RUN_STATUSES, PipelineNode, PipelineRun
from brain.pipelines import scheduler, versions
from brain.pipelines.definition import Definition, DefinitionError, fits
from brain.services import audit
from brain.services.pagination import decode_cursor, encode_cursor
from brain.submission import request_hash

MAX_DEPTH = 10  # sub-pipelines nested deeper than this are refused (a definition cannot loop, but can nest)


def start_run(
    session: Session,
    settings: Settings,
    tenant: str,
    name: str,
    inputs: Any,
    *,
    actor: str | None = None,
    idempotency_key: str | None = None,
    parent_node: PipelineNode | None = None,
) -> tuple[PipelineRun, bool]:
    """Start a run of the pipeline's current version; (run, created). A keyed retry replays the first run."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidMission("invalid Idempotency-Key", "Idempotency-Key", ["Must be 1-255 characters."], "headers")
    body_hash = request_hash({"pipeline": name, "inputs": inputs})
    if idempotency_key:
        existing = _by_key(session, tenant, idempotency_key)
        if existing is not None:
            return _replay(existing, body_hash), False
    version = versions.current(session, tenant, name)
    try:
        definition = versions.definition_of(version)
    except DefinitionError as exc:  # e.g. an agent the stored version names is no longer installed
        raise InvalidPipeline(
            f"version {version.version} of {name!r} no longer validates", [p.as_dict() for p in exc.problems]
        ) from None
    resolved = resolve_inputs(definition, inputs)
    if parent_node is not None and _depth(session, parent_node) >= MAX_DEPTH:
        raise InvalidPipeline("sub-pipelines nest too deeply", [{"message": f"more than {MAX_DEPTH} levels"}])
    now = utcnow()
    run = PipelineRun(
        id=uuid.uuid4(),
        tenant=tenant,
        pipeline=name,
        version=version.version,
        status="running",
        inputs=resolved,
        parent_node_id=parent_node.id if parent_node is not None else None,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        created_by=actor,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()  # the nodes' foreign key needs the run's row first (no ORM relationship orders them)
            session.add_all(
                PipelineNode(
                    id=uuid.uuid4(),
                    run_id=run.id,
                    tenant=tenant,
                    node=node.id,
                    item_index=-1,
                    status="pending",
                    attempts=0,
                )
                for node in definition.nodes
            )
            session.flush()
    except IntegrityError:
        existing = _by_key(session, tenant, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, body_hash), False  # a concurrent request with the same key won
    if parent_node is not None:
        parent_node.child_run_id = run.id  # before it advances: a run of transforms only ends right away
    audit.record(
        session,
        "pipeline_run.created",
        tenant=tenant,
        actor=actor,
        data={"run_id": str(run.id), "pipeline": name, "version": version.version, **_parent(parent_node)},
    )
    scheduler.advance(session, settings, run.id)
    return run, True


def _parent(parent_node: PipelineNode | None) -> dict[str, str]:
    return {"parent_run_id": str(parent_node.run_id)} if parent_node is not None else {}


def _depth(session: Session, node: PipelineNode) -> int:
    depth, run_id = 1, node.run_id
    while depth <= MAX_DEPTH:
        parent = session.scalar(select(PipelineRun.parent_node_id).where(PipelineRun.id == run_id))
        if parent is None:
            return depth
        run_id = session.scalar(select(PipelineNode.run_id).where(PipelineNode.id == parent))
        depth += 1
    return depth


def resolve_inputs(definition: Definition, given: Any) -> dict[str, Any]:
    """The run's inputs: the given ones checked against their declared types, defaults for the rest."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidPipeline("inputs must be an object", [{"field": "inputs", "message": "Not an object."}])
    found = json_problems(given)
    if found:
        path, messages = next(iter(found.items()))
        raise InvalidPipeline(
            "the inputs hold values that cannot be stored", [{"field": f"inputs.{path}", "message": str(messages)}]
        )
    declared = {i.name: i for i in definition.inputs}
    problems = [
        {"field": f"inputs.{key}", "message": f"unknown input; declared: {', '.join(declared) or 'none'}"}
        for key in given
        if key not in declared
    ]
    resolved: dict[str, Any] = {}
    for spec in definition.inputs:
        if spec.name in given:
            value = given[spec.name]
            if not fits(spec.type, value):
                problems.append({"field": f"inputs.{spec.name}", "message": f"must be {spec.type}"})
            resolved[spec.name] = value
        elif spec.required:
            problems.append({"field": f"inputs.{spec.name}", "message": "required (it has no default)"})
        else:
            resolved[spec.name] = spec.default
    if problems:
        raise InvalidPipeline(f"{len(problems)} problem(s) in the run's inputs", problems)
    return resolved


def _by_key(session: Session, tenant: str, key: str) -> PipelineRun | None:
    return session.scalars(
        select(PipelineRun).where(PipelineRun.tenant == tenant, PipelineRun.idempotency_key == key)
    ).first()


def _replay(existing: PipelineRun, body_hash: str) -> PipelineRun:
    if existing.request_hash != body_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body", run_id=str(existing.id)
        )
    return existing


def get_run(session: Session, run_id: uuid.UUID, tenant: str, *, lock: bool = False) -> PipelineRun:
    run = session.get(PipelineRun, run_id, with_for_update=lock or None, populate_existing=lock)
    if run is None or run.tenant != tenant:
        raise NotFound(f"pipeline run {run_id} not found")
    return run


def list_runs(
    session: Session,
    tenant: str,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[Sequence[PipelineRun], str | None]:
    """A page of runs, newest first, by keyset on (created_at, id)."""
    query = select(PipelineRun).where(PipelineRun.tenant == tenant)
    if pipeline:
        query = query.where(PipelineRun.pipeline == pipeline)
    if status:
        query = query.where(PipelineRun.status == status)
    if cursor:
        when, last_id = decode_cursor(cursor)
        query = query.where(
            or_(PipelineRun.created_at < when, and_(PipelineRun.created_at == when, PipelineRun.id < last_id))
        )
    rows = session.scalars(query.order_by(PipelineRun.created_at.desc(), PipelineRun.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def parent_run_id(session: Session, run: PipelineRun) -> uuid.UUID | None:
    """The run whose node started this one (a sub-pipeline's run), else None."""
    if run.parent_node_id is None:
        return None
    return session.scalar(select(PipelineNode.run_id).where(PipelineNode.id == run.parent_node_id))


def nodes_of(session: Session, run: PipelineRun) -> list[Row]:
    """Every node and fan-out item of a run, in definition order, with its mission's status."""
    definition = versions.pinned_definition(session, run.tenant, run.pipeline, run.version)
    order = {node.id: i for i, node in enumerate(definition.nodes)}
    rows = session.execute(
        select(PipelineNode, Mission.status.label("mission_status"))
        .outerjoin(Mission, Mission.id == PipelineNode.mission_id)
        .where(PipelineNode.run_id == run.id)
    ).all()
    return sorted(rows, key=lambda r: (order.get(r.PipelineNode.node, len(order)), r.PipelineNode.item_index))


def cancel_run(
    session: Session, settings: Settings, run_id: uuid.UUID, tenant: str, *, actor: str | None = None
) -> PipelineRun:
    """Cancel a running run: its pending nodes end now, its queued and running missions right after commit."""
    run = get_run(session, run_id, tenant, lock=True)
    if run.status in FINAL_RUN_STATUSES:
        raise Conflict(f"pipeline run {run_id} already ended ({run.status}); it cannot be cancelled")
    ctx = scheduler.load(session, settings, run)
    scheduler.finish_run(ctx, "cancelled", error={"code": "cancelled", "message": "cancelled by request"}, actor=actor)
    return run


def retry_run(
    session: Session, settings: Settings, run_id: uuid.UUID, tenant: str, *, actor: str | None = None
) -> PipelineRun:
    """Run a failed or cancelled run again from the nodes that did not succeed; succeeded ones keep their results."""
    run = get_run(session, run_id, tenant, lock=True)
    if run.status not in ("failed", "cancelled"):
        raise Conflict(f"pipeline run {run_id} is {run.status}; only a failed or cancelled run can be retried")
    if session.scalar(
        select(PipelineNode.id).where(PipelineNode.run_id == run.id, PipelineNode.status == "running").limit(1)
    ):
        raise Conflict(f"pipeline run {run_id} is still cancelling its missions; retry in a moment")
    session.execute(
        update(PipelineNode)
        .where(PipelineNode.run_id == run.id, PipelineNode.status.in_(("failed", "cancelled", "skipped")))
        .values(
            status="pending",
            mission_id=None,
            child_run_id=None,
            result=None,
            error=None,
            attempts=0,
            ready_at=None,
            started_at=None,
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    run.status, run.error, run.outputs, run.finished_at = "running", None, None, None
    audit.record(
        session,
        "pipeline_run.retried",
        tenant=tenant,
        actor=actor,
        data={"run_id": str(run.id), "pipeline": run.pipeline, "version": run.version},
    )
    session.flush()
    scheduler.advance(session, settings, run.id)
    return run
