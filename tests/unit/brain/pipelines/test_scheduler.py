"""The scheduler advances a run in the transaction that ends a node's mission: order, conditions, fan-out, failure.

Here this test plays the worker (claim, then finish with what the built-in agent returns),
so each step is deterministic; tests/e2e/test_pipelines.py runs the same against real
worker processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from brain.db import session_scope
from brain.errors import Conflict, IdempotencyConflict, InvalidPipeline
from brain.models import Event, Mission
from brain.models.approval import Approval
from brain.models.pipeline import PipelineNode, PipelineRun
from brain.pipelines import after_commit, cascade, runs, versions
from brain.services import approvals, execution, missions
from tests.unit.conftest import unit_settings

TEMPLATES = Path(__file__).parents[4] / "pipelines"


@pytest.fixture
def settings(database_url, redis_server):
    return unit_settings(database_url, redis_server.url)


def _apply(settings, name: str, source: str | None = None) -> None:
    text = source if source is not None else (TEMPLATES / f"{name}.yaml").read_text()
    with session_scope(settings.database_url) as session:
        versions.apply(session, "default", name, text, actor="dev")


def _start(settings, name: str, inputs=None, **kwargs) -> PipelineRun:
    with session_scope(settings.database_url) as session:
        run, _ = runs.start_run(session, settings, "default", name, inputs or {}, actor="dev", **kwargs)
        return run


def _work(settings, fail: set[str] = frozenset(), steps: int | None = None) -> list[str]:
    """Run queued missions as the worker would, until none is left (or `steps` ran); the names run, in order."""
    ran = []
    for _ in range(steps or 1000):
        with session_scope(settings.database_url) as session:
            queued = session.scalars(
                select(Mission).where(Mission.status == "queued").order_by(Mission.created_at).limit(1)
            ).first()
            if queued is None:
                return ran
            mission = execution.claim(session, queued.id, "test-worker")
        ran.append(mission.name)
        payload = mission.payload
        ok = mission.name not in fail and (mission.agent != "check" or payload.get("ok") is True)
        with session_scope(settings.database_url) as session:
            if ok:
                execution.finish(session, mission, "succeeded", result=payload, attempt=1, settings=settings)
            else:
                error = {"code": "NR-E004", "message": payload.get("message", "failed")}
                execution.finish(session, mission, "failed", error=error, attempt=1, settings=settings)
    if steps is None:
        raise AssertionError("missions kept coming")
    return ran


def _run(settings, run_id) -> tuple[PipelineRun, dict[str, PipelineNode]]:
    with session_scope(settings.database_url) as session:
        run = session.get(PipelineRun, run_id)
        nodes = session.scalars(select(PipelineNode).where(PipelineNode.run_id == run_id)).all()
        key = {n: (n.node if n.item_index < 0 else f"{n.node}[{n.item_index}]") for n in nodes}
        return run, {key[n]: n for n in nodes}


def test_etl_fans_out_over_its_partitions_and_loads_the_total(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl", {"partitions": 3, "rows_per_partition": 10})
    ran = _work(settings)
    assert ran[0] == "etl.extract" and sorted(ran[1:]) == ["etl.transform[0]", "etl.transform[1]", "etl.transform[2]"]
    run, nodes = _run(settings, run.id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"rows_loaded": 30, "partitions": ["part-0", "part-1", "part-2"]}
    assert nodes["transform"].result == [{"partition": f"part-{i}", "rows": 10} for i in range(3)]
    assert all(n.status == "succeeded" for n in nodes.values())


def test_a_fan_out_keeps_to_max_parallel(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl", {"partitions": 10})
    _work(settings, steps=1)  # extract only
    with session_scope(settings.database_url) as session:
        queued = session.scalars(select(Mission.name).where(Mission.status == "queued")).all()
    assert sorted(queued) == [f"etl.transform[{i}]" for i in range(4)]  # the template's max_parallel
    _work(settings)
    assert _run(settings, run.id)[0].outputs["rows_loaded"] == 10000


def test_a_false_condition_skips_the_node_and_the_outputs_say_so(settings):
    _apply(settings, "ml-training")
    low = _start(settings, "ml-training", {"accuracy": 0.5})
    assert _work(settings) == ["ml-training.fetch", "ml-training.preprocess", "ml-training.train"]
    run, nodes = _run(settings, low.id)
    assert run.status == "succeeded" and run.outputs == {"accuracy": 0.5, "deployed": False}
    assert nodes["deploy"].status == "skipped" and nodes["deploy"].error["code"] == "condition_false"

    high = _start(settings, "ml-training", {"accuracy": 0.93})
    assert _work(settings)[-1] == "ml-training.deploy"
    assert _run(settings, high.id)[0].outputs == {"accuracy": 0.93, "deployed": True}


def test_a_failed_node_fails_the_run_and_cancels_the_rest(settings):
    _apply(settings, "ml-training")
    run = _start(settings, "ml-training")
    _work(settings, fail={"ml-training.preprocess"})
    run, nodes = _run(settings, run.id)
    assert run.status == "failed" and run.error["node"] == "preprocess"
    assert nodes["preprocess"].status == "failed"
    assert [nodes[n].status for n in ("train", "evaluate", "deploy")] == ["cancelled"] * 3


def test_retry_runs_only_what_did_not_succeed(settings):
    _apply(settings, "ml-training")
    run = _start(settings, "ml-training")
    _work(settings, fail={"ml-training.train"})
    with session_scope(settings.database_url) as session:
        runs.retry_run(session, settings, run.id, "default", actor="dev")
    assert _work(settings) == ["ml-training.train", "ml-training.deploy"]
    run, _ = _run(settings, run.id)
    assert run.status == "succeeded" and run.outputs["deployed"] is True
    with session_scope(settings.database_url) as session, pytest.raises(Conflict):
        runs.retry_run(session, settings, run.id, "default")


def test_a_node_retries_up_to_max_retries_with_a_new_mission(settings):
    source = (TEMPLATES / "etl.yaml").read_text().replace("max_retries: 2", "max_retries: 1")
    _apply(settings, "etl", source)
    run = _start(settings, "etl", {"partitions": 1})
    ran = _work(settings, fail={"etl.transform[0]"})
    assert ran == ["etl.extract", "etl.transform[0]", "etl.transform[0]"]
    run, nodes = _run(settings, run.id)
    assert run.status == "failed" and nodes["transform[0]"].attempts == 2
    assert nodes["transform"].error["code"] == "items_failed"


def test_an_approval_holds_only_its_branch_and_a_failed_verify_rolls_back(settings):
    _apply(settings, "deployment")
    run = _start(settings, "deployment", {"healthy": False})
    assert _work(settings) == ["deployment.build"]
    with session_scope(settings.database_url) as session:
        held = session.scalars(select(Mission).where(Mission.status == "awaiting_approval")).all()
        assert [m.name for m in held] == ["deployment.approve"]
        approval = session.scalar(select(Approval.id).where(Approval.mission_id == held[0].id))
        approvals.approve(session, settings, approval, "ops", "looks fine")
    assert _work(settings) == ["deployment.approve", "deployment.deploy", "deployment.verify", "deployment.rollback"]
    run, nodes = _run(settings, run.id)
    assert nodes["verify"].status == "failed" and nodes["rollback"].status == "succeeded"
    assert run.status == "succeeded"  # verify's on_failure is `continue`: the rollback is the plan
    assert run.outputs == {"artifact": "api:1.0.0", "verified": False, "rolled_back": True}


def test_a_rejected_approval_fails_the_run(settings):
    _apply(settings, "deployment")
    run = _start(settings, "deployment")
    _work(settings)
    with session_scope(settings.database_url) as session:
        approval = session.scalar(select(Approval.id).where(Approval.status == "pending"))
        approvals.reject(session, approval, "ops", "not today", settings=settings)
    run, nodes = _run(settings, run.id)
    assert run.status == "failed" and nodes["approve"].error["code"] == "mission_rejected"
    assert [nodes[n].status for n in ("deploy", "verify", "rollback")] == ["cancelled"] * 3


def test_cancel_ends_pending_nodes_now_and_cancels_queued_missions_after_commit(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl", {"partitions": 8})
    _work(settings, steps=1)
    with session_scope(settings.database_url) as session:
        runs.cancel_run(session, settings, run.id, "default", actor="dev")
    run, nodes = _run(settings, run.id)
    assert run.status == "cancelled"
    assert {nodes[f"transform[{i}]"].status for i in range(8)} == {"cancelled"}
    assert nodes["load"].status == "cancelled" and nodes["transform"].status == "cancelled"
    with session_scope(settings.database_url) as session:
        statuses = session.scalars(select(Mission.status).where(Mission.name.like("etl.transform%"))).all()
        kinds = session.scalars(select(Event.type).where(Event.type.like("pipeline_run.%")).order_by(Event.id)).all()
    assert set(statuses) == {"cancelled"} and len(statuses) == 4
    assert kinds == ["pipeline_run.created", "pipeline_run.cancelled"]
    with session_scope(settings.database_url) as session, pytest.raises(Conflict):
        runs.cancel_run(session, settings, run.id, "default")


def test_a_mission_cancelled_by_hand_fails_its_run(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl")
    with session_scope(settings.database_url) as session:
        mid = session.scalar(select(Mission.id).where(Mission.name == "etl.extract"))
        missions.cancel_mission(session, mid, settings=settings)
    run, nodes = _run(settings, run.id)
    assert run.status == "failed" and nodes["extract"].status == "cancelled"


def test_inputs_are_checked_and_an_idempotency_key_replays(settings):
    _apply(settings, "etl")
    with pytest.raises(InvalidPipeline) as bad:
        _start(settings, "etl", {"partitions": "four", "nope": 1})
    fields = sorted(p["field"] for p in bad.value.details["problems"])
    assert fields == ["inputs.nope", "inputs.partitions"]
    first = _start(settings, "etl", {"partitions": 2}, idempotency_key="k1")
    again = _start(settings, "etl", {"partitions": 2}, idempotency_key="k1")
    assert first.id == again.id
    with pytest.raises(IdempotencyConflict):
        _start(settings, "etl", {"partitions": 3}, idempotency_key="k1")


def test_a_run_pins_its_version_across_a_new_apply(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl", {"partitions": 2})
    _apply(settings, "etl", (TEMPLATES / "etl.yaml").read_text().replace("field: rows", "field: partition_rows"))
    _work(settings)
    run, _ = _run(settings, run.id)
    assert run.version == 1 and run.status == "succeeded" and run.outputs["rows_loaded"] == 2000


def test_a_sub_pipeline_runs_as_a_child_run(settings):
    _apply(settings, "etl")
    parent = """
name: nightly
inputs:
  parts: {type: integer, default: 2}
nodes:
  - id: etl
    type: pipeline
    pipeline: etl
    inputs: {partitions: "${inputs.parts}", rows_per_partition: 5}
  - id: report
    type: transform
    transform: shape
    args: {rows: "${nodes.etl.result.rows_loaded}"}
    dependencies: [etl]
outputs:
  rows: "${nodes.report.result.rows}"
"""
    _apply(settings, "nightly", parent)
    run = _start(settings, "nightly")
    _work(settings)
    run, nodes = _run(settings, run.id)
    assert run.status == "succeeded" and run.outputs == {"rows": 10}
    with session_scope(settings.database_url) as session:
        child = session.get(PipelineRun, nodes["etl"].child_run_id)
        assert child.status == "succeeded" and child.parent_node_id == nodes["etl"].id


def test_the_sweeper_finishes_what_a_crash_left_between_a_runs_end_and_its_cancels(settings):
    _apply(settings, "etl")
    run = _start(settings, "etl", {"partitions": 3})
    _work(settings, steps=1)
    with session_scope(settings.database_url) as session:
        runs.cancel_run(session, settings, run.id, "default")
        session.info.pop(after_commit.PENDING)  # the process dies right after the commit
    with session_scope(settings.database_url) as session:
        assert set(session.scalars(select(Mission.status).where(Mission.name.like("etl.transform%")))) == {"queued"}
    assert cascade.sweep(settings) == 3
    with session_scope(settings.database_url) as session:
        assert set(session.scalars(select(Mission.status).where(Mission.name.like("etl.transform%")))) == {"cancelled"}
    _, nodes = _run(settings, run.id)
    assert {n.status for n in nodes.values()} == {"succeeded", "cancelled"}
    assert cascade.sweep(settings) == 0


def test_the_sweeper_hands_a_run_a_node_mission_whose_end_it_missed(settings):
    _apply(settings, "ml-training")
    run = _start(settings, "ml-training")
    with session_scope(settings.database_url) as session:  # ended by a path that did not tell the run
        session.execute(
            update(Mission).where(Mission.name == "ml-training.fetch").values(status="succeeded", result={"rows": 1})
        )
    assert cascade.sweep(settings) == 1
    assert _work(settings, steps=1) == ["ml-training.preprocess"]
    _, nodes = _run(settings, run.id)
    assert nodes["fetch"].status == "succeeded" and nodes["fetch"].result == {"rows": 1}


WIDE = """
name: wide
nodes:
  - {id: plan, type: transform, transform: range, args: {count: 250}}
  - id: work
    type: mission
    agent: echo
    foreach: nodes.plan.result
    max_parallel: 1000
    payload: {item: "${item}"}
    dependencies: [plan]
  - {id: total, type: transform, transform: count, args: {values: "${nodes.work.result}"}, dependencies: [work]}
outputs:
  total: "${nodes.total.result}"
"""


def test_a_wide_fan_out_starts_a_batch_at_once_and_the_rest_as_missions_end(settings):
    _apply(settings, "wide", WIDE)
    run = _start(settings, "wide")
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Mission.id).where(Mission.status == "queued")).all()) == 100
    assert len(_work(settings)) == 250
    run, nodes = _run(settings, run.id)
    assert run.status == "succeeded" and run.outputs == {"total": 250}
    assert (nodes["work"].items_total, nodes["work"].items_started, nodes["work"].items_done) == (250, 250, 250)
