"""The issue's targets and the results table (figure, BRAiN, peer, ratio, target, met)."""

from __future__ import annotations

import operator
from dataclasses import dataclass

from bench.figures import Figure, format_value


@dataclass(frozen=True)
class Row:
    label: str
    brain: str | None  # figure names
    peer: str | None = None
    ratio: str | None = None
    checked: str | None = None  # the figure the target applies to
    op: str = ""
    limit: float | None = None
    target: str = "—"


_OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, "==": operator.eq}

ROWS = (
    Row(
        "enqueue req/s (32 conns)",
        "enqueue.brain.rps",
        "enqueue.peer.rps",
        "enqueue.rps_ratio",
        "enqueue.rps_ratio",
        ">=",
        70,
        "≥ 70% of peer",
    ),
    Row("enqueue p50 ms", "enqueue.brain.p50", "enqueue.peer.p50"),
    Row(
        "enqueue p95 ms",
        "enqueue.brain.p95",
        "enqueue.peer.p95",
        "enqueue.p95_ratio",
        "enqueue.brain.p95",
        "<=",
        50,
        "≤ 50 ms",
    ),
    Row("enqueue p99 ms", "enqueue.brain.p99", "enqueue.peer.p99"),
    Row("enqueue errors", "enqueue.brain.errors", "enqueue.peer.errors", None, "enqueue.brain.errors", "==", 0, "0"),
    Row(
        "e2e missions/s, rails enforcing",
        "e2e.brain_rails.missions_per_s",
        "e2e.peer.missions_per_s",
        "e2e.rails_ratio",
        "e2e.rails_ratio",
        ">=",
        60,
        "≥ 60% of peer",
    ),
    Row(
        "e2e missions/s, rails off",
        "e2e.brain_norails.missions_per_s",
        "e2e.peer.missions_per_s",
        "e2e.norails_ratio",
        "e2e.norails_ratio",
        ">=",
        70,
        "≥ 70% of peer",
    ),
    Row("e2e rails cost %", "e2e.rails_cost", None, None, "e2e.rails_cost", "<=", 15, "≤ 15%"),
    Row("ramp 10 users p95 ms", "ramp.u10.brain.p95", "ramp.u10.peer.p95"),
    Row("ramp 50 users p95 ms", "ramp.u50.brain.p95", "ramp.u50.peer.p95"),
    Row(
        "ramp 100 users p95 ms",
        "ramp.u100.brain.p95",
        "ramp.u100.peer.p95",
        None,
        "ramp.u100.brain.p95",
        "<",
        150,
        "< 150 ms",
    ),
    Row(
        "ramp 100 users error %",
        "ramp.u100.brain.error_rate",
        "ramp.u100.peer.error_rate",
        None,
        "ramp.u100.brain.error_rate",
        "<",
        0.1,
        "< 0.1%",
    ),
    Row("enqueue p95 ms, empty queue", "scale.enqueue_empty.p95"),
    Row(
        "enqueue p95 ms, backlog queued",
        "scale.enqueue_backlog.p95",
        None,
        "scale.enqueue_backlog.p95_ratio",
        "scale.enqueue_backlog.p95_ratio",
        "<=",
        1.2,
        "≤ 1.2x empty",
    ),
    Row("GET /api/missions/{id} p95 ms", "scale.get_by_id.p95", None, None, "scale.get_by_id.p95", "<", 10, "< 10 ms"),
    Row(
        "list first page p95 ms",
        "scale.list_first_page.p95",
        None,
        None,
        "scale.list_first_page.p95",
        "<",
        20,
        "< 20 ms",
    ),
    Row("governor cache hit rate %", "governor.cache_hit_rate"),
    Row("io llm.chat missions/s, prefork -c 10", "io.prefork_c10.missions_per_s"),
    Row(
        "io llm.chat missions/s, gevent -c 1000",
        "io.gevent_c1000.missions_per_s",
        "io.bare_asyncio.calls_per_s",
        "io.gevent_vs_bare",
        "io.gevent_c1000.missions_per_s",
        ">=",
        200,
        "≥ 200/s (peer: bare asyncio client)",
    ),
    Row(
        "io max in flight, gevent",
        "io.gevent_c1000.max_in_flight",
        None,
        None,
        "io.gevent_c1000.max_in_flight",
        ">=",
        1000,
        "≥ 1000",
    ),
    Row(
        "io max in flight, gevent, 20 s model calls",
        "io.gevent_c1000_hold.max_in_flight",
        None,
        None,
        "io.gevent_c1000_hold.max_in_flight",
        ">=",
        1000,
        "≥ 1000",
    ),
    Row(
        "io worker RSS MiB, 1000 in flight",
        "io.gevent_c1000_hold.rss_peak",
        None,
        None,
        "io.gevent_c1000_hold.rss_peak",
        "<=",
        1024,
        "≤ 1 GiB",
    ),
    Row(
        "io worker RSS MiB, gevent",
        "io.gevent_c1000.rss_peak",
        None,
        None,
        "io.gevent_c1000.rss_peak",
        "<=",
        1024,
        "≤ 1 GiB",
    ),
    Row(
        "io overhead p95 ms, gevent",
        "io.gevent_c1000.overhead_p95",
        None,
        None,
        "io.gevent_c1000.overhead_p95",
        "<=",
        50,
        "≤ 50 ms",
    ),
    Row(
        "batch intake missions/s (500 per request)",
        "batch.brain.missions_per_s",
        "enqueue.peer.rps",
        "batch.vs_peer",
        "batch.brain.missions_per_s",
        ">=",
        5000,
        "≥ 5,000/s (peer: single POST /enqueue)",
    ),
    Row("batch vs single submissions", "batch.vs_single"),
    Row(
        "budget-stream overshoot tokens",
        "budget_stream.overshoot_tokens",
        None,
        None,
        "budget_stream.overshoot_tokens",
        "==",
        0,
        "0",
    ),
    Row(
        "fairness: B's queue wait p95 s behind A's backlog (peer column: FIFO)",
        "fairness.fair.b_wait_p95",
        "fairness.fifo.b_wait_p95",
        "fairness.b_wait_p95_ratio",
        "fairness.fair.b_wait_p95",
        "<=",
        2,
        "≤ 2 s",
    ),
    Row("fairness: B's queue wait p50 s (peer column: FIFO)", "fairness.fair.b_wait_p50", "fairness.fifo.b_wait_p50"),
    Row(
        "fairness: missions/s during B's window (peer column: FIFO)",
        "fairness.fair.throughput",
        "fairness.fifo.throughput",
        "fairness.throughput_ratio",
        "fairness.throughput_ratio",
        ">=",
        90,
        "≥ 90% of FIFO",
    ),
    Row(
        "fairness: served ratio of weights 3:1",
        "fairness.share_ratio",
        None,
        None,
        "fairness.share_error",
        "<=",
        10,
        "3 ± 10%",
    ),
    Row(
        "pipelines: 1,000-node fan-out/fan-in s (peer column: flat)",
        "pipelines.fan.seconds",
        "pipelines.flat.seconds",
        "pipelines.time_ratio",
        "pipelines.time_ratio",
        "<=",
        1.3,
        "≤ 1.3 x flat",
    ),
    Row("pipelines: overhead per node ms", "pipelines.overhead_per_node_ms"),
    Row(
        "pipelines: dependency done → node started p95 ms",
        "pipelines.node_wait.p95",
        None,
        None,
        "pipelines.node_wait.p95",
        "<=",
        50,
        "≤ 50 ms",
    ),
    Row("governor cached decision p95 ms", "governor.cached_decision_p95"),
    Row("soak API RSS growth %", "soak.api.rss_growth", None, None, "soak.api.rss_growth", "<", 10, "< 10%"),
    Row("soak worker RSS growth %", "soak.worker.rss_growth", None, None, "soak.worker.rss_growth", "<", 10, "< 10%"),
)


def met(row: Row, figures: dict[str, Figure]) -> str:
    """`yes`, `no`, `n/a` (not measured) or `—` (no target)."""
    if row.checked is None:
        return "—"
    value = figures[row.checked].value if row.checked in figures else None
    if value is None:
        return "n/a"
    return "yes" if _OPS[row.op](value, row.limit) else "no"


def table(figures: dict[str, Figure]) -> str:
    """The markdown results table for bench/README.md."""

    def cell(name: str | None) -> str:
        if not name or name not in figures:
            return "—"
        fig = figures[name]
        suffix = {"%": "%", "x": "x"}.get(fig.unit, "") if fig.value is not None else ""
        return format_value(fig.value) + suffix

    lines = ["| figure | BRAiN | peer | ratio | target | met |", "|---|---|---|---|---|---|"]
    for row in ROWS:
        lines.append(
            f"| {row.label} | {cell(row.brain)} | {cell(row.peer)} | {cell(row.ratio)} | "
            f"{row.target} | {met(row, figures)} |"
        )
    return "\n".join(lines)
