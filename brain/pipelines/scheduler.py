"""The pipeline scheduler: a run advances in the transaction that records a node's end.

There is no polling loop and no chord. Whoever moves a node's mission to a final state
(the worker's outcome, a cancel, a rejection, the sweeper) calls `node_mission_ended` in
that same transaction: it locks the run, records the node, starts what became ready
(missions through the one submission path, published after commit; transforms inline;
sub-pipelines as child runs) and ends the run when nothing is left. Every node change is
a compare-and-set, so a repeated or late event changes nothing. A scheduler bug fails the
run, inside a savepoint, and never the mission write that called it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from brain import metrics
from brain.config import Settings
from brain.db import savepoint, utcnow
from brain.errors import BrainError, InvalidMission
from brain.models.pipeline import FINAL_NODE_STATUSES, FINAL_RUN_STATUSES, PipelineNode, PipelineRun
from brain.pipelines import after_commit, templates, versions
from brain.pipelines.definition import Definition, Node
from brain.pipelines.expressions import EvaluationError, condition, evaluate
from brain.pipelines.transforms import TransformError, get_transform
from brain.services import audit

log = logging.getLogger("brain.pipelines")

ADVANCING = "brain_pipeline_advancing"  # session.info: runs being advanced now -> asked again meanwhile
PIPELINE_ACTOR = "pipeline"
LAUNCH_BATCH = 100
# A dependency in one of these states keeps its dependents from running: they are skipped.
_BLOCKING = frozenset({"skipped", "cancelled"})


@dataclass
class _Run:
    """One run while it is advanced: its locked row, its definition and its nodes (not fan-out items)."""

    session: Session
    settings: Settings
    run: PipelineRun
    definition: Definition
    rows: dict[str, PipelineNode]
    items: dict[uuid.UUID, PipelineNode] = field(default_factory=dict)  # fan-out items read in this advance
    # Fan-out missions one advance may start. The rest start as those end (each end advances the run
    # again), so a wide fan-out's first missions are published at once, not after a thousand inserts.
    launches_left: int = LAUNCH_BATCH
    now: dt.datetime = field(default_factory=utcnow)

    def node_row(self, node_id: uuid.UUID) -> PipelineNode | None:
        found = self.items.get(node_id)
        if found is None:
            found = next((r for r in self.rows.values() if r.id == node_id), None)
        return found

    def scope(self, row: PipelineNode | None = None) -> dict[str, Any]:
        nodes = {
            nid: {"status": r.status, "result": r.result, "error": r.error}
            for nid, r in self.rows.items()
            if r.status in FINAL_NODE_STATUSES
        }
        scope: dict[str, Any] = {"inputs": self.run.inputs or {}, "nodes": nodes}
        if row is not None and row.item_index >= 0:
            scope["item"], scope["index"] = row.item, row.item_index
        return scope


def node_mission_ended(
    session: Session,
    settings: Settings,
    node_id: uuid.UUID,
    mission_id: uuid.UUID,
    status: str,
    result: Any,
    error: dict[str, Any] | None,
    started_at: dt.datetime | None,
) -> None:
    """A node's mission reached `status`: record it on the node (or retry it) and advance the run."""

    def ended(ctx: _Run, row: PipelineNode | None) -> None:
        if row is not None and row.mission_id == mission_id and row.status == "running":
            _mission_ended(ctx, row, status, result, error, started_at)
        # else: a mission of an earlier attempt, or an end seen before

    _guarded(session, settings, _At(node_id=node_id), ended)


def child_run_ended(session: Session, settings: Settings, run: PipelineRun) -> None:
    """A sub-pipeline's run ended: its parent node takes its outcome, and the parent run advances."""
    node_status = {"succeeded": "succeeded", "cancelled": "cancelled"}.get(run.status, "failed")
    error = None if run.status == "succeeded" else {"code": f"pipeline_{run.status}", "child_run_id": str(run.id)}
    if error and run.error:
        error["message"] = run.error.get("message", "")

    def ended(ctx: _Run, row: PipelineNode | None) -> None:
        if row is not None and row.child_run_id == run.id and row.status == "running":
            _end(ctx, row, node_status, result=run.outputs, error=error)

    _guarded(session, settings, _At(node_id=run.parent_node_id), ended)


def advance(session: Session, settings: Settings, run_id: uuid.UUID) -> None:
    """Start whatever is ready in the run and end it when nothing is left (the same transaction)."""
    _guarded(session, settings, _At(run_id=run_id), None)


@dataclass(frozen=True)
class _At:
    """Where an event lands: a run, or a node (whose run is found with the lock that takes it)."""

    run_id: uuid.UUID | None = None
    node_id: uuid.UUID | None = None


_Event = Callable[[_Run, "PipelineNode | None"], None]
_CONTEXTS = "brain_pipeline_contexts"


def _guarded(session: Session, settings: Settings, at: _At, event: _Event | None) -> None:
    contexts: dict[uuid.UUID, _Run] = session.info.setdefault(_CONTEXTS, {})
    advancing: dict[uuid.UUID, bool] = session.info.setdefault(ADVANCING, {})
    for run_id, ctx in contexts.items():
        row = ctx.node_row(at.node_id) if at.node_id is not None else None
        if at.run_id == run_id or row is not None:
            # Re-entered (a sub-run ended inside this advance): apply the event; the outer loop goes round again.
            if event is not None:
                event(ctx, row)
            advancing[run_id] = True
            return
    try:
        with savepoint(session):
            _advance(session, settings, at, event)
    except DBAPIError:
        raise  # the database itself failed: the caller's whole transaction is retried
    except Exception as exc:
        log.exception("pipeline %s: the scheduler failed; the run fails", at)
        with savepoint(session):
            run = _lock(session, at)
            if run is not None and run.status not in FINAL_RUN_STATUSES:
                ctx = load(session, settings, run)
                finish_run(ctx, "failed", error={"code": "scheduler_error", "message": f"{type(exc).__name__}: {exc}"})


def _lock(session: Session, at: _At) -> PipelineRun | None:
    """The run's row, locked: the one order every writer of a run's nodes takes (after the mission's row)."""
    query = select(PipelineRun).with_for_update(of=PipelineRun).execution_options(populate_existing=True)
    if at.run_id is not None:
        query = query.where(PipelineRun.id == at.run_id)
    else:
        query = query.join(PipelineNode, PipelineNode.run_id == PipelineRun.id).where(PipelineNode.id == at.node_id)
    return session.scalars(query).first()


def _advance(session: Session, settings: Settings, at: _At, event: _Event | None) -> None:
    run = _lock(session, at)
    if run is None:
        return
    ctx = load(session, settings, run, at.node_id)
    advancing, contexts = session.info[ADVANCING], session.info[_CONTEXTS]
    advancing[run.id], contexts[run.id] = False, ctx
    try:
        if event is not None:
            event(ctx, ctx.node_row(at.node_id) if at.node_id is not None else None)
        if run.status in FINAL_RUN_STATUSES:
            return
        while True:
            advancing[run.id] = False
            changed = _step(ctx)
            if run.status in FINAL_RUN_STATUSES:
                return
            if not changed and not advancing[run.id]:
                break
        _finish_if_done(ctx)
    finally:
        advancing.pop(run.id, None)
        contexts.pop(run.id, None)


def load(session: Session, settings: Settings, run: PipelineRun, node_id: uuid.UUID | None = None) -> _Run:
    """A run's context: its definition and its nodes' rows (and the one row `node_id`, if a fan-out item)."""
    definition = versions.pinned_definition(session, run.tenant, run.pipeline, run.version)
    which = PipelineNode.item_index == -1
    if node_id is not None:
        which = or_(which, PipelineNode.id == node_id)
    rows = session.scalars(
        select(PipelineNode).where(PipelineNode.run_id == run.id, which).execution_options(populate_existing=True)
    ).all()
    ctx = _Run(session, settings, run, definition, {r.node: r for r in rows if r.item_index < 0})
    ctx.items.update({r.id: r for r in rows if r.item_index >= 0})
    return ctx


def _mission_ended(
    ctx: _Run, row: PipelineNode, status: str, result: Any, error: dict | None, started_at: dt.datetime | None
) -> None:
    node = ctx.definition.node(row.node)
    if started_at is not None and row.ready_at is not None:
        wait = max(0.0, (started_at - row.ready_at).total_seconds())
        after_commit.call(ctx.session, lambda: metrics.PIPELINE_NODE_WAIT.observe(wait))
    if status == "succeeded":
        _end(ctx, row, "succeeded", result=result)
        return
    if status not in ("cancelled", "rejected") and row.attempts <= node.max_retries and ctx.run.status == "running":
        audit.record(
            ctx.session,
            "pipeline_node.retried",
            row.mission_id,
            tenant=row.tenant,
            actor=PIPELINE_ACTOR,
            data={**_about(ctx, row), "attempt": row.attempts, "error": error},
        )
        row.ready_at = ctx.now
        _launch(ctx, node, row)
        return
    mission_error = {"code": f"mission_{status}", "mission_id": str(row.mission_id)}
    if error:
        mission_error["message"] = str(error.get("message", ""))
    _end(ctx, row, "cancelled" if status == "cancelled" else "failed", error=mission_error)


def _step(ctx: _Run) -> bool:
    """One pass over the nodes in topological order; True if anything moved."""
    changed = False
    for node in ctx.definition.nodes:
        if _doomed(ctx):
            return changed
        row = ctx.rows[node.id]
        if row.status == "pending":
            changed |= _try_start(ctx, node, row)
        elif row.status == "running" and node.foreach is not None:
            changed |= _fan_out(ctx, node, row)
    return changed


def _doomed(ctx: _Run) -> bool:
    """A node that fails the pipeline has failed: the run fails now."""
    for nid, row in ctx.rows.items():
        if row.status in ("failed", "cancelled") and ctx.definition.node(nid).on_failure == "fail_pipeline":
            message = f"node {nid!r} {row.status}"
            if row.error and row.error.get("message"):
                message += f": {row.error['message']}"
            finish_run(ctx, "failed", error={"code": "node_failed", "node": nid, "message": message})
            return True
    return False


def _try_start(ctx: _Run, node: Node, row: PipelineNode) -> bool:
    deps = [ctx.rows[d] for d in node.dependencies]
    if any(d.status not in FINAL_NODE_STATUSES for d in deps):
        return False
    if row.ready_at is None:
        row.ready_at = ctx.now
    for dep in deps:
        if dep.status in _BLOCKING or (
            dep.status == "failed" and ctx.definition.node(dep.node).on_failure == "skip_dependents"
        ):
            _end(ctx, row, "skipped", error={"code": "upstream", "message": f"dependency {dep.node!r} {dep.status}"})
            return True
    scope = ctx.scope()
    try:
        if node.condition is not None and not condition(node.condition, scope):
            _end(ctx, row, "skipped", error={"code": "condition_false", "message": "its condition is false"})
            return True
        if node.foreach is None:
            _launch(ctx, node, row)
            return True
        items = evaluate(node.foreach, scope)
        if not isinstance(items, list):
            raise EvaluationError(f"`foreach` gave {type(items).__name__}, not a list")
    except EvaluationError as exc:
        _end(ctx, row, "failed", error={"code": "expression_error", "message": str(exc)})
        return True
    _set_running(ctx, row)
    _items(ctx, row, items)
    _fan_out(ctx, node, row)
    return True


def _item_filter(parent: PipelineNode) -> Any:
    return and_(PipelineNode.run_id == parent.run_id, PipelineNode.node == parent.node, PipelineNode.item_index >= 0)


def _items(ctx: _Run, parent: PipelineNode, items: list[Any]) -> None:
    """A fan-out's item rows and counters; a retried run keeps the items that succeeded (and their results)."""
    session = ctx.session
    counts = dict(
        session.execute(
            select(PipelineNode.status, func.count()).where(_item_filter(parent)).group_by(PipelineNode.status)
        ).all()
    )
    kept = sum(counts.values())
    parent.items_total = len(items)
    if kept == len(items):  # a retry: every item either succeeded before or is pending again
        parent.items_started = parent.items_done = counts.get("succeeded", 0)
        return
    parent.items_started = parent.items_done = 0
    if kept:
        session.execute(PipelineNode.__table__.delete().where(_item_filter(parent)))
    session.add_all(
        PipelineNode(
            id=uuid.uuid4(),
            run_id=parent.run_id,
            tenant=parent.tenant,
            node=parent.node,
            item_index=index,
            status="pending",
            attempts=0,
            item=item,
            ready_at=ctx.now,
        )
        for index, item in enumerate(items)
    )
    session.flush()


def _fan_out(ctx: _Run, node: Node, parent: PipelineNode) -> bool:
    """Start items while fewer than `max_parallel` run; end the node when every item has ended.

    The counters on the node's row make an item's end cost the same for ten items or a thousand.
    """
    total, started, done = parent.items_total or 0, parent.items_started or 0, parent.items_done or 0
    free = min(node.max_parallel - (started - done), total - started, ctx.launches_left)
    if free > 0:
        items = ctx.session.scalars(
            select(PipelineNode)
            .where(_item_filter(parent), PipelineNode.status == "pending")
            .order_by(PipelineNode.item_index)
            .limit(free)
        ).all()
        parent.items_started = started + len(items)
        for item in items:
            item.ready_at = ctx.now
            _launch(ctx, node, item)
            if item.status == "running" and item.mission_id is not None:
                ctx.launches_left -= 1
        return bool(items)
    if started < total or done < started:
        return False
    items = ctx.session.scalars(
        select(PipelineNode).where(_item_filter(parent)).order_by(PipelineNode.item_index)
    ).all()
    failed = [i.item_index for i in items if i.status != "succeeded"]
    results = [i.result for i in items]
    if failed:
        message = f"{len(failed)} of {len(items)} items did not succeed (first: item {failed[0]})"
        _end(
            ctx,
            parent,
            "failed",
            result=results,
            error={"code": "items_failed", "items": failed[:100], "message": message},
        )
    else:
        _end(ctx, parent, "succeeded", result=results)
    return True


def _set_running(ctx: _Run, row: PipelineNode) -> None:
    row.status, row.started_at, row.finished_at = "running", ctx.now, None
    row.attempts = (row.attempts or 0) + 1
    row.result = row.error = None
    audit.record(ctx.session, "pipeline_node.running", tenant=row.tenant, actor=PIPELINE_ACTOR, data=_about(ctx, row))


def _launch(ctx: _Run, node: Node, row: PipelineNode) -> None:
    """Start one node (or one fan-out item): a mission, a transform inline, or a child run."""
    _set_running(ctx, row)
    scope = ctx.scope(row)
    try:
        if node.type == "mission":
            _submit(ctx, node, row, templates.render(node.payload, scope))
        elif node.type == "transform":
            transform = get_transform(node.transform or "")
            if transform is None:
                raise TransformError(f"transform {node.transform!r} is not registered in this process")
            _end(ctx, row, "succeeded", result=transform(templates.render(node.args, scope)))
        else:
            from brain.pipelines import runs  # runs starts a run through this module

            child, _ = runs.start_run(
                ctx.session,
                ctx.settings,
                row.tenant,
                node.pipeline or "",
                templates.render(node.inputs, scope),
                actor=ctx.run.created_by,
                parent_node=row,
            )
            if row.status == "running":
                row.child_run_id = child.id
    except EvaluationError as exc:
        _end(ctx, row, "failed", error={"code": "expression_error", "message": str(exc)})
    except TransformError as exc:
        _end(ctx, row, "failed", error={"code": "transform_error", "message": str(exc)})
    except BrainError as exc:
        _end(ctx, row, "failed", error={"code": exc.error, "message": exc.message, **_problems(exc)})


def _problems(exc: BrainError) -> dict[str, Any]:
    if isinstance(exc, InvalidMission):
        return {"field": exc.field, "messages": exc.messages}
    return {k: v for k, v in exc.details.items() if k == "problems"}


def _submit(ctx: _Run, node: Node, row: PipelineNode, payload: Any) -> None:
    from brain import submission  # submission's final transitions call back into this module

    run = ctx.run
    name = f"{run.pipeline}.{node.id}" + (f"[{row.item_index}]" if row.item_index >= 0 else "")
    body: dict[str, Any] = {
        "name": name,
        "agent": node.agent,
        "payload": payload,
        "priority": node.priority,
        "tags": [f"pipeline:{run.pipeline}"],
    }
    if node.timeout_s is not None:
        body["timeout_s"] = node.timeout_s
    if node.budget:
        body["budget"] = dict(node.budget)
    submitted = submission.submit(
        ctx.session, ctx.settings, body, tenant=run.tenant, actor=run.created_by, pipeline_node=row.id
    )
    row.mission_id = submitted.mission.id
    if submitted.denied:
        denial = submitted.denial()
        _end(ctx, row, "failed", error={"code": "policy_denied", "message": denial.message})


def _end(ctx: _Run, row: PipelineNode, status: str, *, result: Any = None, error: dict | None = None) -> None:
    row.status, row.result, row.error, row.finished_at = status, result, error, ctx.now
    if row.item_index >= 0:
        parent = ctx.rows[row.node]
        parent.items_done = (parent.items_done or 0) + 1
    data = _about(ctx, row)
    if error:
        data["error"] = error
    audit.record(
        ctx.session, f"pipeline_node.{status}", row.mission_id, tenant=row.tenant, actor=PIPELINE_ACTOR, data=data
    )


def _about(ctx: _Run, row: PipelineNode) -> dict[str, Any]:
    data: dict[str, Any] = {"run_id": str(ctx.run.id), "pipeline": ctx.run.pipeline, "node": row.node}
    if row.item_index >= 0:
        data["item_index"] = row.item_index
    if row.mission_id is not None:
        data["mission_id"] = str(row.mission_id)
    return data


def _finish_if_done(ctx: _Run) -> None:
    if _doomed(ctx) or any(r.status not in FINAL_NODE_STATUSES for r in ctx.rows.values()):
        return
    try:
        outputs = templates.render(ctx.definition.outputs, ctx.scope())
    except EvaluationError as exc:
        finish_run(ctx, "failed", error={"code": "output_error", "message": str(exc)})
        return
    finish_run(ctx, "succeeded", outputs=outputs)


def finish_run(
    ctx: _Run, status: str, *, outputs: Any = None, error: dict | None = None, actor: str | None = None
) -> None:
    """The run ends: nodes not started are cancelled, running ones are cancelled after commit."""
    run, session = ctx.run, ctx.session
    run.status, run.outputs, run.error, run.finished_at = status, outputs, error, ctx.now
    session.flush()
    if status != "succeeded":
        _cancel_nodes(ctx)
    data: dict[str, Any] = {"run_id": str(run.id), "pipeline": run.pipeline, "version": run.version}
    if error:
        data["error"] = error
    audit.record(session, f"pipeline_run.{status}", tenant=run.tenant, actor=actor or PIPELINE_ACTOR, data=data)
    duration = max(0.0, (ctx.now - run.created_at).total_seconds())
    pipeline = run.pipeline

    def count() -> None:
        metrics.PIPELINE_RUNS.labels(pipeline, status).inc()
        metrics.PIPELINE_RUN_DURATION.labels(pipeline).observe(duration)

    after_commit.call(session, count)
    if run.parent_node_id is not None:
        child_run_ended(session, ctx.settings, run)


def _cancel_nodes(ctx: _Run) -> None:
    """Pending nodes and items end `cancelled` now; a running mission or sub-run is cancelled after commit."""
    session, run = ctx.session, ctx.run
    reason = {"code": "run_ended", "message": f"the run {run.status}"}
    session.execute(
        update(PipelineNode)
        .where(PipelineNode.run_id == run.id, PipelineNode.status == "pending")
        .values(status="cancelled", finished_at=ctx.now, error=reason)
        .execution_options(synchronize_session="fetch")
    )
    running = session.scalars(
        select(PipelineNode).where(PipelineNode.run_id == run.id, PipelineNode.status == "running")
    ).all()
    for row in running:
        if row.mission_id is not None:
            after_commit.cancel_mission(session, ctx.settings, row.tenant, row.mission_id)
        elif row.child_run_id is not None:
            after_commit.cancel_run(session, ctx.settings, row.tenant, row.child_run_id)
        else:
            # A fan-out node: its items' missions are cancelled above; the node itself ends now.
            _end(ctx, row, "cancelled", error=reason)
