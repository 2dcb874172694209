"""The `io` scenario: llm.chat at 2 s provider latency on prefork -c 10, on gevent -c 1000, and bare asyncio."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import sys
import threading
import time

from bench import seed
from bench.figures import Results, ratio
from bench.procs import Proc, spawn
from bench.stack import Stack
from brain.dispatch import MISSION_IO_QUEUE
from tests.servers import free_port, wait_for

LATENCY_S = 2.0
# Long enough model calls that the node's start rate is not the limit: how many it holds at once.
HOLD_LATENCY_S = 20.0
HOLD_MISSIONS = 1000
BARE_IN_FLIGHT = 1000
# A thousand greenlets share one node's database pool (README: I/O-bound agents).
GREEN_ENV = {"BRAIN_DB_POOL_SIZE": "20", "BRAIN_DB_MAX_OVERFLOW": "20"}


def start_provider(stack: Stack, latency: float = LATENCY_S, tokens: int = 20) -> tuple[Proc, int]:
    port = free_port()
    args = [sys.executable, "-m", "bench.fake_provider", "--port", str(port), "--latency", str(latency)]
    args += ["--tokens", str(tokens)]
    proc = spawn("fake-provider", args, stack.env, stack.data_dir)
    stack.procs.append(proc)
    wait_for(lambda: "listening on" in proc.tail(5), 30, what="the fake provider")
    return proc, port


def io(stack: Stack, res: Results, api_url: str, prefork_count: int, green_count: int, bare_count: int) -> None:
    provider, port = start_provider(stack)
    llm = {"BRAIN_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    try:
        for label, count, worker in (
            ("prefork_c10", prefork_count, {"concurrency": 10, **llm}),
            (
                "gevent_c1000",
                green_count,
                {"concurrency": 1000, "pool": "gevent", "queues": MISSION_IO_QUEUE, **llm, **GREEN_ENV},
            ),
        ):
            _drain(stack, res, api_url, label, count, worker)
        rate = asyncio.run(_bare_client(port, bare_count, BARE_IN_FLIGHT))
        res.add(
            "io.bare_asyncio.calls_per_s",
            rate,
            "calls/s",
            note=f"{bare_count} calls, {BARE_IN_FLIGHT} in flight, one asyncio client: the provider's own limit",
        )
        share = ratio(res.get("io.gevent_c1000.missions_per_s"), rate)
        res.add("io.gevent_vs_bare", None if share is None else share * 100, "%")
        speedup = ratio(res.get("io.gevent_c1000.missions_per_s"), res.get("io.prefork_c10.missions_per_s"))
        res.add("io.gevent_vs_prefork", speedup, "x")
    finally:
        provider.stop()
    slow, slow_port = start_provider(stack, latency=HOLD_LATENCY_S)
    try:
        worker = {
            "concurrency": 1000,
            "pool": "gevent",
            "queues": MISSION_IO_QUEUE,
            "BRAIN_LLM_BASE_URL": f"http://127.0.0.1:{slow_port}/v1",
            **GREEN_ENV,
        }
        _drain(stack, res, api_url, "gevent_c1000_hold", HOLD_MISSIONS, worker, latency=HOLD_LATENCY_S)
    finally:
        slow.stop()


STREAM_TOKENS = 20
STREAM_MISSION_TOKENS = STREAM_TOKENS + 7  # the fake provider's prompt tokens are charged at the end
BUDGET_COVERS = 50


def budget_stream(stack: Stack, res: Results, api_url: str, missions: int) -> None:
    """`missions` streamed llm.chat missions of one tenant at once, its day budget covering 50: the overshoot."""
    provider, port = start_provider(stack, latency=0.5, tokens=STREAM_TOKENS)
    budget = BUDGET_COVERS * STREAM_MISSION_TOKENS
    broker = stack.broker()
    # A fresh day for the tenant: earlier scenarios charged the same tenant's ledger.
    for key in broker.scan_iter(match="nr:budget:tenant:*"):
        broker.delete(key)
    stack.clear_queues()
    name = f"budget-stream-{time.monotonic_ns()}"
    body = {"name": name, "agent": "llm.chat", "payload": {"prompt": "hello", "stream": True}}
    worker_env = {
        "BRAIN_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "NEURORAIL_PHASE": "2",
        "NEURORAIL_ENFORCEMENT_PERCENTAGE": "100",
        "NEURORAIL_TENANT_TOKENS_PER_DAY": str(budget),
        "NEURORAIL_BUDGET_ESTIMATE_TOKENS": str(STREAM_MISSION_TOKENS),
        **GREEN_ENV,
    }
    try:
        accepted = stack.submit_many(api_url, "/api/missions", body, missions, threads=8)
        worker = stack.start_worker(
            name="worker-budget", concurrency=missions, pool="gevent", queues=MISSION_IO_QUEUE, **worker_env
        )
        done_sql = "SELECT count(*) FROM missions WHERE name = %s AND finished_at IS NOT NULL"
        try:
            wait_for(lambda: stack.sql(done_sql, (name,))[0][0] >= accepted, 180, interval=0.5, what="budget missions")
        finally:
            worker.stop()
    finally:
        provider.stop()
    rows = stack.sql("SELECT status, (usage->>'tokens')::bigint FROM missions WHERE name = %s", (name,))
    spent = sum(tokens or 0 for _, tokens in rows)
    statuses = {status: sum(1 for s, _ in rows if s == status) for status in {s for s, _ in rows}}
    note = f"{accepted} missions in parallel, budget {budget} tokens (covers {BUDGET_COVERS}); {statuses}"
    res.add("budget_stream.spent_tokens", spent, "tokens", note=note)
    res.add("budget_stream.budget_tokens", budget, "tokens")
    res.add("budget_stream.overshoot_tokens", max(0, spent - budget), "tokens")
    res.add("budget_stream.succeeded", statuses.get("succeeded", 0), "missions")


def _drain(
    stack: Stack,
    res: Results,
    api_url: str,
    label: str,
    count: int,
    worker_options: dict,
    latency: float = LATENCY_S,
) -> None:
    """Queue `count` llm.chat missions, start one node, wait until all finished; figures from the rows."""
    stack.clear_queues()
    name = f"io-{label}-{time.monotonic_ns()}"
    body = {"name": name, "agent": "llm.chat", "payload": {"prompt": "hello"}}
    accepted = stack.submit_many(api_url, "/api/missions", body, 20, threads=4)
    accepted += seed.queued_copies(stack, count - accepted, name)
    options = dict(worker_options)
    worker = stack.start_worker(
        name=f"worker-{label}",
        concurrency=options.pop("concurrency"),
        pool=options.pop("pool", "prefork"),
        queues=options.pop("queues", None),
        **options,
    )
    peak = _PeakRss(worker)
    done_sql = "SELECT count(*) FROM missions WHERE name = %s AND finished_at IS NOT NULL"
    try:
        wait_for(
            lambda: stack.sql(done_sql, (name,))[0][0] >= accepted,
            120 + count * latency / 5,
            interval=0.5,
            what=f"{accepted} {label} missions to finish",
        )
    finally:
        peak.stop()
        worker.stop()
    rows = stack.sql(
        "SELECT status, started_at, finished_at FROM missions WHERE name = %s AND finished_at IS NOT NULL", (name,)
    )
    ok = sum(1 for status, _, _ in rows if status == "succeeded")
    first, last = min(r[1] for r in rows), max(r[2] for r in rows)
    seconds = (last - first).total_seconds()
    note = f"{len(rows)} finished ({ok} succeeded) of {accepted}; provider latency {latency} s"
    res.add(f"io.{label}.missions_per_s", len(rows) / seconds if seconds > 0 else None, "missions/s", note=note)
    res.add(f"io.{label}.max_in_flight", _max_overlap([(r[1], r[2]) for r in rows]), "missions")
    res.add(f"io.{label}.rss_peak", peak.mib, "MiB", note="worker node's process tree, sampled every 0.5 s")
    overhead = sorted(((r[2] - r[1]).total_seconds() - latency) * 1000 for r in rows)
    res.add(f"io.{label}.overhead_p50", statistics.median(overhead), "ms", note="finished - started - model latency")
    res.add(f"io.{label}.overhead_p95", overhead[int(len(overhead) * 0.95) - 1], "ms")


def _max_overlap(spans: list[tuple[dt.datetime, dt.datetime]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(f, -1) for _, f in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


class _PeakRss:
    """Samples a process tree's RSS in a thread until stopped; keeps the largest."""

    def __init__(self, proc: Proc) -> None:
        self.proc, self.mib = proc, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.mib = max(self.mib, self.proc.rss_mb())
            except Exception:  # noqa: BLE001 - a process that just exited: keep the last sample
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


async def _bare_client(port: int, calls: int, in_flight: int) -> float:
    """The same chat calls from one asyncio process over keep-alive connections; calls/s."""
    body = json.dumps({"model": "fake", "messages": [{"role": "user", "content": "hello"}]}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    left = calls

    async def connection() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while left > 0:
                left -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(min(in_flight, calls))))
    return calls / (time.monotonic() - started)
