"""Pipelines: a 1,000-node fan-out/fan-in run of echo nodes beside the same missions submitted flat.

Both start from one HTTP request (a run; two 500-mission batches for flat) with one worker
node -c 2 already waiting, and end when the last mission finished: the ratio is what the
scheduler costs on top. The dependency-to-start latency is measured on a second run whose
fan-out keeps to `max_parallel: 2` (the worker's slots): each item becomes ready when the
one before it finished, so "ready → started on a worker" is the scheduler's and broker's
turnaround, not time spent queued behind a thousand siblings.
"""

from __future__ import annotations

import json
import time

import requests

from bench.figures import Results, ratio
from bench.stack import BRAIN_BODY, Stack
from tests.servers import wait_for

FAN = """
name: {name}
nodes:
  - id: plan
    type: transform
    transform: range
    args: {{count: {count}}}
  - id: work
    type: mission
    agent: echo
    foreach: nodes.plan.result
    max_parallel: {parallel}
    payload: {{msg: hello, item: "${{item}}"}}
    dependencies: [plan]
  - id: sink
    type: mission
    agent: echo
    payload: {{upstream: "${{nodes.work.status}}"}}
    dependencies: [work]
"""
FINISHED = "SELECT count(*) FROM missions WHERE name LIKE %s AND finished_at IS NOT NULL"


def _timeout(count: int) -> float:
    return 120 + count / 10


def _run_pipeline(stack: Stack, api_url: str, count: int, parallel: int) -> tuple[str, float]:
    """Apply and run one fan-out/fan-in; (run id, seconds from the POST to the run's end)."""
    name = f"bench-fan-{parallel}-{time.monotonic_ns() % 10**9}"
    source = FAN.format(name=name, count=count, parallel=parallel)
    headers = stack.headers()
    resp = requests.put(f"{api_url}/api/pipelines/{name}", json={"source": source}, headers=headers, timeout=30)
    assert resp.status_code == 201, resp.text
    started = time.monotonic()
    resp = requests.post(f"{api_url}/api/pipelines/{name}/runs", json={}, headers=headers, timeout=120)
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["id"]
    status_sql = "SELECT status FROM pipeline_runs WHERE id = %s"
    wait_for(
        lambda: stack.sql(status_sql, (run_id,))[0][0] != "running",
        _timeout(count),
        interval=0.05,
        what=f"pipeline run {run_id}",
    )
    seconds = time.monotonic() - started
    status = stack.sql(status_sql, (run_id,))[0][0]
    assert status == "succeeded", f"run {run_id} {status}"
    return run_id, seconds


def _run_flat(stack: Stack, api_url: str, count: int) -> float:
    name = f"bench-flat-{time.monotonic_ns() % 10**9}"
    headers = {**stack.headers(), "Content-Type": "application/json"}
    started = time.monotonic()
    with requests.Session() as session:
        for chunk in range(0, count, 500):
            items = [{**BRAIN_BODY, "name": name} for _ in range(min(500, count - chunk))]
            resp = session.post(f"{api_url}/api/missions/batch", data=json.dumps({"missions": items}), headers=headers)
            assert resp.status_code == 200 and resp.json()["refused"] == 0, resp.text
    wait_for(lambda: stack.sql(FINISHED, (name,))[0][0] >= count, _timeout(count), 0.05, what="flat missions")
    return time.monotonic() - started


def _waits_ms(stack: Stack, run_id: str) -> list[float]:
    rows = stack.sql(
        "SELECT extract(epoch FROM m.started_at - n.ready_at) * 1000 FROM pipeline_nodes n "
        "JOIN missions m ON m.id = n.mission_id WHERE n.run_id = %s AND m.started_at IS NOT NULL",
        (run_id,),
    )
    return sorted(float(r[0]) for r in rows)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def pipelines(stack: Stack, res: Results, api_url: str, count: int, rounds: int = 2) -> None:
    """Fan-out/fan-in vs flat, interleaved `rounds` times (best of each), then the latency run."""
    stack.clear_queues()
    worker = stack.start_worker(name="worker-pipelines")
    try:
        _run_flat(stack, api_url, 50)  # warm the worker's pool and connections
        flat, piped = [], []
        for _ in range(rounds):
            flat.append(_run_flat(stack, api_url, count))
            piped.append(_run_pipeline(stack, api_url, count, 1000)[1])
        run_id, _ = _run_pipeline(stack, api_url, count, 2)
        waits = _waits_ms(stack, run_id)
    finally:
        worker.stop()
    best_flat, best_piped = min(flat), min(piped)
    nodes = count + 1  # the fan-out's items and the fan-in node (the transform runs inline)
    note = f"best of {rounds}: flat {[round(s, 2) for s in flat]} s, pipeline {[round(s, 2) for s in piped]} s"
    res.add("pipelines.flat.seconds", best_flat, "s", note=f"{count} echo missions in 500-mission batches; {note}")
    res.add("pipelines.fan.seconds", best_piped, "s", note=f"1 run: range → {count} echo items → 1 echo fan-in")
    res.add("pipelines.time_ratio", ratio(best_piped, best_flat), "x", note="pipeline run time / flat submission time")
    res.add("pipelines.overhead_per_node_ms", (best_piped - best_flat) * 1000 / nodes, "ms", note=f"over {nodes} nodes")
    res.add(
        "pipelines.node_wait.p95",
        _pct(waits, 0.95),
        "ms",
        note=f"ready → started on a worker, {len(waits)} nodes of a max_parallel 2 run; p50 {_pct(waits, 0.5):.1f} ms",
    )
