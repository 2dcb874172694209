"""The fairness scenario: a small tenant's wait behind a huge backlog, fair admission against plain FIFO.

Tenant A's `backlog` echo missions are bulk-seeded; then tenant B submits one mission per
second for `window_s` while one worker node `-c 2` drains. Run once with fair scheduling and
once with FIFO (publish at once, as without tenants): B's queue wait (started - created)
p50/p95, and the missions finished per second during the window. Then two saturating
tenants of weights 3 and 1: their shares of the first missions served.

Multi-tenant as an enterprise deployment runs: tenant records, and the API and worker
logged in as a member of brain_app (row-level security on).
"""

from __future__ import annotations

import statistics
import time

import requests

from bench import seed
from bench.figures import Results, ratio
from bench.stack import Stack
from tests.servers import wait_for
from tests.stack import mint_token

ECHO = {"name": "fair", "agent": "echo", "payload": {"msg": "hello"}}
SHARE_SAMPLE = 1000  # first missions served, counted for the weighted shares


def fairness(stack: Stack, res: Results, backlog: int, window_s: int, share_rows: int) -> None:
    env = _multi_tenant_env(stack)
    for tenant, weight in (("fair-a", 10), ("fair-b", 10), ("fair-w3", 3), ("fair-w1", 1)):
        stack.brain("tenants", "create", tenant, "--plan", "enterprise", "--weight", str(weight), check=False)
    token_b = mint_token("bench-b", tenant="fair-b", roles=("operator",), secret=stack.env["BRAIN_JWT_SECRET"])
    for mode in ("fifo", "fair"):
        waits, rate, note = _small_tenant_behind_backlog(stack, env, mode, backlog, window_s, token_b)
        if waits:
            res.add(f"fairness.{mode}.b_wait_p50", statistics.median(waits), "s", note)
            res.add(f"fairness.{mode}.b_wait_p95", _p95(waits), "s", note)
        else:
            res.add(f"fairness.{mode}.b_wait_p95", None, "s", note)
        res.add(f"fairness.{mode}.throughput", rate, "missions/s", note)
    res.add(
        "fairness.throughput_ratio",
        _pct(ratio(res.get("fairness.fair.throughput"), res.get("fairness.fifo.throughput"))),
        "%",
    )
    res.add(
        "fairness.b_wait_p95_ratio",
        ratio(res.get("fairness.fifo.b_wait_p95"), res.get("fairness.fair.b_wait_p95")),
        "x",
    )
    w3, w1 = _weighted_shares(stack, env, share_rows)
    res.add("fairness.share_w3", w3, "missions", f"of the first {w3 + w1} served")
    res.add("fairness.share_w1", w1, "missions", f"of the first {w3 + w1} served")
    measured = ratio(w3, w1)
    res.add("fairness.share_ratio", measured, "x", "target 3")
    res.add("fairness.share_error", None if measured is None else abs(measured / 3 - 1) * 100, "%")


def _multi_tenant_env(stack: Stack) -> dict[str, str]:
    return {
        "BRAIN_MULTI_TENANCY": "true",
        "BRAIN_DATABASE_URL": stack.pg.app_role_url("brain"),
        "BRAIN_LOG_LEVEL": "WARNING",
    }


def _reset(stack: Stack) -> None:
    """Nothing left queued or running from an earlier scenario or mode."""
    stack.sql(
        "UPDATE missions SET status = 'cancelled', finished_at = now() WHERE status IN ('queued', 'running')",
        fetch=False,
    )
    stack.clear_queues()


def _small_tenant_behind_backlog(
    stack: Stack, env: dict[str, str], mode: str, backlog: int, window_s: int, token_b: str
) -> tuple[list[float], float | None, str]:
    _reset(stack)
    env = {**env, "BRAIN_FAIR_SCHEDULING": "on" if mode == "fair" else "off"}
    api, url = stack.start_api(f"api-fair-{mode}", **env)
    try:
        if mode == "fair":
            seed.backlog_rows(stack, "fair-a", backlog)
        else:  # FIFO: each row has its message in the broker, as a publish at submission leaves it
            token_a = mint_token("bench-a", tenant="fair-a", roles=("operator",), secret=stack.env["BRAIN_JWT_SECRET"])
            resp = requests.post(
                f"{url}/api/missions", json=ECHO, headers={"Authorization": f"Bearer {token_a}"}, timeout=30
            )
            resp.raise_for_status()
            seed.queued_copies(stack, backlog - 1, "fair")
        worker = stack.start_worker(name=f"worker-fair-{mode}", concurrency=2, **env)
        try:
            t0 = stack.sql("SELECT now()")[0][0]
            ids = _one_per_second(url, token_b, window_s)
            t1 = stack.sql("SELECT now()")[0][0]
            finished = stack.sql("SELECT count(*) FROM missions WHERE finished_at BETWEEN %s AND %s", (t0, t1))[0][0]
            rate = finished / (t1 - t0).total_seconds()
            left_sql = "SELECT count(*) FROM missions WHERE id = ANY(%s::uuid[]) AND finished_at IS NULL"
            try:
                wait_for(lambda: stack.sql(left_sql, (ids,))[0][0] == 0, 60 + backlog / 20, 0.5, what="B's missions")
            except TimeoutError:
                pass  # the waits of those that ran are reported; the note says how many did
        finally:
            worker.stop()
        rows = stack.sql(
            "SELECT extract(epoch FROM started_at - created_at) FROM missions "
            "WHERE id = ANY(%s::uuid[]) AND started_at IS NOT NULL",
            (ids,),
        )
        waits = [float(r[0]) for r in rows]
        return waits, rate, f"{len(waits)} of {len(ids)} B missions ran; A backlog {backlog}, 1 node -c 2"
    finally:
        api.stop()
        _reset(stack)


def _one_per_second(url: str, token: str, window_s: int) -> list[str]:
    ids: list[str] = []
    stop = time.monotonic() + window_s
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        tick = time.monotonic()
        while tick < stop:
            resp = session.post(f"{url}/api/missions", json=ECHO, timeout=30)
            if resp.status_code == 202:
                ids.append(resp.json()["id"])
            tick += 1.0
            time.sleep(max(0.0, tick - time.monotonic()))
    return ids


def _weighted_shares(stack: Stack, env: dict[str, str], rows: int) -> tuple[int, int]:
    """Both tenants saturate (their whole backlog is there first): who is served among the first missions."""
    _reset(stack)
    seed.backlog_rows(stack, "fair-w3", rows)
    seed.backlog_rows(stack, "fair-w1", rows)
    sample = min(SHARE_SAMPLE, rows)
    worker = stack.start_worker(name="worker-fair-shares", concurrency=2, BRAIN_FAIR_SCHEDULING="on", **env)
    started_sql = "SELECT count(*) FROM missions WHERE tenant IN ('fair-w3', 'fair-w1') AND started_at IS NOT NULL"
    try:
        wait_for(lambda: stack.sql(started_sql)[0][0] >= sample, 60 + sample / 10, 0.5, what="shares sample")
    finally:
        worker.stop()
    served = stack.sql(
        "SELECT tenant, count(*) FROM (SELECT tenant FROM missions WHERE tenant IN ('fair-w3', 'fair-w1') "
        "AND started_at IS NOT NULL ORDER BY started_at LIMIT %s) first GROUP BY tenant",
        (sample,),
    )
    counts = dict(served)
    _reset(stack)
    return int(counts.get("fair-w3", 0)), int(counts.get("fair-w1", 0))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100
