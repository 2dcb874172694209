"""Scenarios that need workers: end-to-end drain (BRAiN rails on/off vs peer), governor, soak."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time

from bench import seed, wrk
from bench.figures import Results, ratio
from bench.procs import REPO
from bench.stack import BRAIN_BODY, Stack
from tests.servers import wait_for


def _drain_timeout(count: int) -> float:
    return 120 + count / 10  # generous: a stuck drain is reported, not waited on forever


def e2e_drain(stack: Stack, label: str, phase: int, count: int, api_url: str) -> tuple[float | None, str]:
    """Queue `count` echo missions, then one worker node -c 2 drains them: missions/s from first start
    to last finish (the rows' started_at/finished_at), and a note on what finished."""
    stack.clear_queues()
    name = f"e2e-{label}-{time.monotonic_ns()}"
    # A few through the API, the rest copied from them in bulk: only the drain is timed here.
    accepted = stack.submit_many(api_url, "/api/missions", {**BRAIN_BODY, "name": name}, 20, threads=4)
    accepted += seed.queued_copies(stack, count - accepted, name)
    worker = stack.start_worker(name=f"worker-{label}", NEURORAIL_PHASE=str(phase))
    done_sql = "SELECT count(*) FROM missions WHERE name = %s AND finished_at IS NOT NULL"
    try:
        wait_for(
            lambda: stack.sql(done_sql, (name,))[0][0] >= accepted,
            _drain_timeout(count),
            interval=0.5,
            what=f"{accepted} {label} missions to finish",
        )
    finally:
        worker.stop()
    n, ok, first, last = stack.sql(
        "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'), min(started_at), max(finished_at) "
        "FROM missions WHERE name = %s AND finished_at IS NOT NULL",
        (name,),
    )[0]
    seconds = (last - first).total_seconds()
    return (n / seconds if seconds > 0 else None), f"{n} finished ({ok} succeeded) of {accepted}"


def e2e_brain(stack: Stack, res: Results, count: int, api_url: str, off_url: str, rounds: int = 2) -> None:
    """Rails enforcing (NEURORAIL_PHASE=2) and rails off (0), interleaved `rounds` times; best of each.

    The machine is shared, so a neighbour's burst can halve one drain: interleaving and keeping
    each variant's best run compares the two under the most similar conditions available.
    """
    runs: dict[str, list[tuple[float | None, str]]] = {"rails": [], "norails": []}
    for _ in range(rounds):
        runs["rails"].append(e2e_drain(stack, "rails", 2, count, api_url))
        runs["norails"].append(e2e_drain(stack, "norails", 0, count, off_url))
    for label, phase in (("rails", 2), ("norails", 0)):
        rates = [rate for rate, _ in runs[label] if rate is not None]
        notes = "; ".join(f"{_fmt(rate)}/s: {note}" for rate, note in runs[label])
        res.add(
            f"e2e.brain_{label}.missions_per_s",
            max(rates) if rates else None,
            "missions/s",
            note=f"best of {rounds}, NEURORAIL_PHASE={phase}: {notes}",
        )


def _fmt(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1f}"


def e2e_peer(stack: Stack, res: Results, count: int, peer_url: str, rounds: int = 2) -> None:
    """The peer's drain, timed by its no-op task's own timestamps; best of `rounds` like BRAiN's."""
    runs = [_peer_drain(stack, count, peer_url) for _ in range(rounds)]
    rates = [rate for rate, _ in runs if rate is not None]
    res.add(
        "e2e.peer.missions_per_s",
        max(rates) if rates else None,
        "missions/s",
        note=f"best of {rounds}: " + "; ".join(f"{_fmt(rate)}/s: {note}" for rate, note in runs),
    )


def _peer_drain(stack: Stack, count: int, peer_url: str) -> tuple[float | None, str]:
    stack.clear_queues()
    peer = stack.peer_redis()
    peer.delete("peer:done")
    accepted = stack.submit_many(peer_url, "/enqueue", {"msg": "hello"}, count)
    worker = stack.start_peer_worker()
    try:
        wait_for(
            lambda: peer.llen("peer:done") >= accepted,
            _drain_timeout(count),
            interval=0.5,
            what=f"{accepted} peer tasks to finish",
        )
    finally:
        worker.stop()
    spans = [tuple(map(float, raw.split())) for raw in peer.lrange("peer:done", 0, -1)]
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return (len(spans) / seconds if seconds > 0 else None), f"{len(spans)} no-op tasks of {accepted}"


def e2e_ratios(res: Results) -> None:
    peer = res.get("e2e.peer.missions_per_s")
    on, off = res.get("e2e.brain_rails.missions_per_s"), res.get("e2e.brain_norails.missions_per_s")
    res.add("e2e.rails_ratio", _pct(ratio(on, peer)), "%")
    res.add("e2e.norails_ratio", _pct(ratio(off, peer)), "%")
    cost = ratio(on, off)
    res.add("e2e.rails_cost", None if cost is None else (1 - cost) * 100, "%")


def governor(stack: Stack, res: Results, decisions: int) -> None:
    """Cache hit rate and cached decision p95 from brain.governance, in-process; n/a until it exists."""
    if importlib.util.find_spec("brain.governance.governor") is None:
        res.add("governor.cache_hit_rate", None, "%", note="brain.governance not present yet")
        res.add("governor.cached_decision_p95", None, "ms", note="brain.governance not present yet")
        return
    done = subprocess.run(
        [sys.executable, "-m", "bench.governor_probe", str(decisions)],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        note = f"probe failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
        res.add("governor.cache_hit_rate", None, "%", note=note)
        res.add("governor.cached_decision_p95", None, "ms", note=note)
        return
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    note = f"{figures['decisions']} decisions over {figures['combinations']} agent/tenant/priority combinations"
    res.add("governor.cache_hit_rate", figures["hit_rate"] * 100, "%", note=note)
    res.add("governor.cached_decision_p95", figures["cached_p95_ms"], "ms", note=note)
    res.add("governor.uncached_decision_p95", figures["uncached_p95_ms"], "ms", note=note)


def soak(stack: Stack, res: Results, seconds: float, api_proc, api_url: str) -> None:
    """Steady load (8 connections submitting, one worker draining) for `seconds`; RSS at start and end."""
    stack.clear_queues()
    worker = stack.start_worker(name="worker-soak", NEURORAIL_PHASE="2")
    warm = min(30.0, seconds / 10)
    box: dict = {}
    env = {"BENCH_BODY": json.dumps(BRAIN_BODY), "BENCH_TOKEN": stack.token}
    load = threading.Thread(
        target=lambda: box.update(
            r=wrk.run(f"{api_url}/api/missions", "post", connections=8, seconds=seconds + warm, env=env)
        )
    )
    load.start()
    time.sleep(warm)  # measure after imports and pools have warmed up
    api_start, worker_start = api_proc.rss_mb(), worker.rss_mb()
    load.join()
    api_end, worker_end = api_proc.rss_mb(), worker.rss_mb()
    worker.stop()
    stack.clear_queues()
    for who, start, end in (("api", api_start, api_end), ("worker", worker_start, worker_end)):
        res.add(f"soak.{who}.rss_start", start, "MiB")
        res.add(f"soak.{who}.rss_end", end, "MiB")
        res.add(
            f"soak.{who}.rss_growth",
            (end / start - 1) * 100 if start else None,
            "%",
            note=f"over {seconds:.0f} s of steady load",
        )
    if "r" in box:
        res.add("soak.load.rps", box["r"].rps, "req/s")
        res.add("soak.load.errors", box["r"].errors, "count")


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100
