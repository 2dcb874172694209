"""Scenarios measured over HTTP with wrk: enqueue (BRAiN vs peer), the seed load ramp, scale."""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from bench import seed, wrk
from bench.figures import Results, ratio
from bench.stack import BRAIN_BODY, Stack

PEER_BODY = {"msg": "hello"}
READ_CONNECTIONS = 4  # latency of single reads, not a saturation test: a few concurrent clients


def _post_env(stack: Stack, body: dict) -> dict[str, str]:
    return {"BENCH_BODY": json.dumps(body), "BENCH_TOKEN": stack.token}


def _record(res: Results, prefix: str, r: wrk.WrkResult) -> None:
    res.add(f"{prefix}.rps", r.rps, "req/s")
    res.add(f"{prefix}.p50", r.p50_ms, "ms")
    res.add(f"{prefix}.p95", r.p95_ms, "ms")
    res.add(f"{prefix}.p99", r.p99_ms, "ms")
    res.add(
        f"{prefix}.errors",
        r.errors,
        "count",
        note=f"{r.non_2xx} non-2xx answers {r.statuses or ''}, {r.errors - r.non_2xx} socket errors",
    )


def enqueue(stack: Stack, res: Results, brain_url: str, peer_url: str, seconds: float) -> None:
    """32 connections POSTing for `seconds`, BRAiN then the peer; no workers consume meanwhile."""
    stack.clear_queues()
    brain = wrk.run(
        f"{brain_url}/api/missions", "post", connections=32, seconds=seconds, env=_post_env(stack, BRAIN_BODY)
    )
    _record(res, "enqueue.brain", brain)
    stack.clear_queues()
    peer = wrk.run(f"{peer_url}/enqueue", "post", connections=32, seconds=seconds, env=_post_env(stack, PEER_BODY))
    _record(res, "enqueue.peer", peer)
    stack.clear_queues()
    res.add("enqueue.rps_ratio", _pct(ratio(brain.rps, peer.rps)), "%")
    res.add("enqueue.p95_ratio", ratio(brain.p95_ms, peer.p95_ms), "x")


def ramp(stack: Stack, res: Results, brain_url: str, peer_url: str, stage_s: float) -> None:
    """The seed load profile: 10 → 50 → 100 concurrent users submitting missions."""
    for users in (10, 50, 100):
        for who, url, body in (
            ("brain", f"{brain_url}/api/missions", BRAIN_BODY),
            ("peer", f"{peer_url}/enqueue", PEER_BODY),
        ):
            stack.clear_queues()
            r = wrk.run(url, "post", connections=users, seconds=stage_s, env=_post_env(stack, body))
            res.add(f"ramp.u{users}.{who}.rps", r.rps, "req/s")
            res.add(f"ramp.u{users}.{who}.p95", r.p95_ms, "ms")
            res.add(f"ramp.u{users}.{who}.error_rate", r.error_rate * 100, "%")
    stack.clear_queues()


def scale(stack: Stack, res: Results, brain_url: str, seconds: float, backlog: int, table_rows: int) -> None:
    """Enqueue p95 with `backlog` messages queued vs none; reads with `table_rows` missions stored."""
    stack.clear_queues()
    env = _post_env(stack, BRAIN_BODY)
    empty = wrk.run(f"{brain_url}/api/missions", "post", connections=32, seconds=seconds, env=env)
    res.add("scale.enqueue_empty.p95", empty.p95_ms, "ms")
    seed.queued_copies(stack, backlog)
    depth = sum(stack.broker().llen(k) for k in seed.queue_keys())
    full = wrk.run(f"{brain_url}/api/missions", "post", connections=32, seconds=seconds, env=env)
    res.add("scale.enqueue_backlog.p95", full.p95_ms, "ms", note=f"{depth} messages queued before the run")
    res.add("scale.enqueue_backlog.p95_ratio", ratio(full.p95_ms, empty.p95_ms), "x")
    stack.clear_queues()

    total = seed.fill_table(stack, table_rows)
    ids_file = os.path.join(stack.data_dir, f"ids-{uuid.uuid4().hex[:6]}.txt")
    with open(ids_file, "w") as fh:
        fh.write("\n".join(row[0] for row in stack.sql("SELECT id::text FROM missions ORDER BY random() LIMIT 2000")))
    note = f"{total} missions in the table, {READ_CONNECTIONS} connections"
    by_id = wrk.run(
        brain_url,
        "get_ids",
        connections=READ_CONNECTIONS,
        seconds=seconds,
        env={"BENCH_TOKEN": stack.token, "BENCH_IDS_FILE": ids_file, "BENCH_PATH_PREFIX": "/api/missions/"},
    )
    res.add("scale.get_by_id.p95", by_id.p95_ms, "ms", note=note)
    res.add("scale.get_by_id.errors", by_id.errors, "count")
    page = wrk.run(
        f"{brain_url}/api/missions",
        "get",
        connections=READ_CONNECTIONS,
        seconds=seconds,
        env={"BENCH_TOKEN": stack.token},
    )
    res.add("scale.list_first_page.p95", page.p95_ms, "ms", note=note)
    res.add("scale.list_first_page.errors", page.errors, "count")
    res.add("scale.table_rows", total, "rows")


BATCH_SIZE = 500
BATCH_CONNECTIONS = 2


def batch(stack: Stack, res: Results, brain_url: str, batches: int) -> None:
    """Missions/s accepted through POST /api/missions/batch, 500 per request, beside single submissions and the peer."""
    stack.clear_queues()
    items = [{**BRAIN_BODY, "name": f"batch-{n}"} for n in range(BATCH_SIZE)]
    data = json.dumps({"missions": items})
    headers = {**stack.headers(), "Content-Type": "application/json"}

    def post(count: int) -> tuple[int, int]:
        accepted = refused = 0
        with requests.Session() as session:
            for _ in range(count):
                resp = session.post(f"{brain_url}/api/missions/batch", data=data, headers=headers, timeout=120)
                if resp.status_code != 200:
                    refused += BATCH_SIZE
                    continue
                answer = resp.json()
                accepted, refused = accepted + answer["accepted"], refused + answer["refused"]
        return accepted, refused

    per = BATCH_CONNECTIONS
    share = [batches // per + (1 if i < batches % per else 0) for i in range(per)]
    started = time.monotonic()
    with ThreadPoolExecutor(BATCH_CONNECTIONS) as pool:
        done = list(pool.map(post, share))
    seconds = time.monotonic() - started
    accepted, refused = sum(a for a, _ in done), sum(r for _, r in done)
    rate = accepted / seconds
    note = f"{batches} batches of {BATCH_SIZE} on {BATCH_CONNECTIONS} connections; {refused} refused"
    res.add("batch.brain.missions_per_s", rate, "missions/s", note=note)
    res.add("batch.refused", refused, "count")
    res.add("batch.vs_single", ratio(rate, res.get("enqueue.brain.rps")), "x")
    res.add("batch.vs_peer", ratio(rate, res.get("enqueue.peer.rps")), "x")
    stack.clear_queues()


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100
