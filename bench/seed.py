"""Seeding PostgreSQL and the broker fast with bulk SQL and pipelined LPUSH, not through HTTP."""

from __future__ import annotations

import base64
import json
import time

from bench.stack import Stack
from brain.dispatch import MISSION_QUEUES, queue_keys

__all__ = ["backlog_rows", "fill_table", "queue_keys", "queued_copies"]

# SQL for each column of a seeded mission row; {status} is filled in per use.
_COLUMNS = {
    "id": "gen_random_uuid()",
    "tenant": "'default'",
    "name": "'seed'",
    "agent": "'echo'",
    "payload": '\'{{"msg": "hello"}}\'::json',
    "priority": "'NORMAL'",
    "status": "'{status}'",
    "attempts": "{attempts}",
    "tags": "'[]'::json",
    "risk_tier": "'SAFE'",
    "options": "'{{}}'::json",
    "would_have": "'[]'::json",
    # Spread over the last day, older than anything the run submits itself.
    "created_at": "now() - interval '1 day' + (g * interval '1 millisecond')",
    "dispatched_at": "now() - interval '1 day' + (g * interval '1 millisecond')",
    "started_at": "{started}",
    "finished_at": "{finished}",
    "result": "{result}",
}


def _insert(stack: Stack, count: int, status: str, tenant: str = "default", dispatched: bool = True) -> list[str]:
    existing = {
        row[0] for row in stack.sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'missions'")
    }
    finished = status != "queued"
    values = {
        "status": status,
        "attempts": 1 if finished else 0,
        "started": "now() - interval '1 day' + (g * interval '1 millisecond')" if finished else "NULL",
        "finished": "now() - interval '1 day' + (g * interval '2 millisecond')" if finished else "NULL",
        "result": '\'{"msg": "hello"}\'::json' if finished else "NULL",
    }
    overrides = {"tenant": "%(tenant)s", **({} if dispatched else {"dispatched_at": "NULL"})}
    cols = [c for c in _COLUMNS if c in existing]
    exprs = [overrides[c] if c in overrides else _COLUMNS[c].format(**values).replace("%", "%%") for c in cols]
    rows = stack.sql(
        f"INSERT INTO missions ({', '.join(cols)}) SELECT {', '.join(exprs)} "
        f"FROM generate_series(1, %(count)s) AS g RETURNING id::text",
        {"count": count, "tenant": tenant},
    )
    return [r[0] for r in rows]


def queued_copies(stack: Stack, count: int, name: str | None = None) -> int:
    """`count` more queued missions like the newest one the API queued: row and broker message copied.

    The API must have queued at least one mission (its message still in the broker); the copies
    get new ids and, if given, `name`. Returns how many were added.
    """
    broker = stack.broker()
    key = next((k for q in MISSION_QUEUES for k in queue_keys(q) if broker.llen(k)), None)
    if key is None:
        raise RuntimeError("no BRAiN message in the broker to copy")
    template = json.loads(broker.lindex(key, 0))
    source = template["headers"]["id"]
    cols = [
        row[0]
        for row in stack.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'missions' ORDER BY ordinal_position"
        )
    ]
    exprs = {
        "id": "gen_random_uuid()",
        "name": "coalesce(%s, name)",
        "created_at": "now()",
        "dispatched_at": "now()",
        "idempotency_key": "NULL",
    }
    select_list = ", ".join(exprs.get(c, c) for c in cols)
    ids = [
        r[0]
        for r in stack.sql(
            f"INSERT INTO missions ({', '.join(cols)}) SELECT {select_list} "
            f"FROM missions, generate_series(1, %s) AS g WHERE id = %s RETURNING id::text",
            (name, count, source),
        )
    ]
    _args, kwargs, embed = json.loads(base64.b64decode(template["body"]))
    pipe = broker.pipeline(transaction=False)
    for n, mission_id in enumerate(ids, 1):
        msg = json.loads(json.dumps(template))
        msg["headers"].update(id=mission_id, root_id=mission_id, argsrepr=repr((mission_id,)))
        msg["properties"].update(correlation_id=mission_id, delivery_tag=mission_id)
        msg["body"] = base64.b64encode(json.dumps([[mission_id], kwargs, embed]).encode()).decode()
        pipe.lpush(key, json.dumps(msg))
        if n % 5000 == 0:
            pipe.execute()
    pipe.execute()
    settle(stack)
    return len(ids)


def backlog_rows(stack: Stack, tenant: str, count: int) -> int:
    """`count` queued echo missions of `tenant` in its fair-scheduling backlog (unpublished, no message)."""
    added = len(_insert(stack, count, "queued", tenant=tenant, dispatched=False))
    settle(stack, seconds=0.5)
    return added


def fill_table(stack: Stack, target_rows: int) -> int:
    """Insert finished missions until the table holds `target_rows`; returns the row count."""
    have = stack.sql("SELECT count(*) FROM missions")[0][0]
    if have < target_rows:
        _insert(stack, target_rows - have, "succeeded")
        settle(stack)
    return stack.sql("SELECT count(*) FROM missions")[0][0]


def settle(stack: Stack, seconds: float = 2.0) -> None:
    """After a bulk insert: fresh planner statistics, dirty pages written, so reads are not timed
    against the seeding's own aftermath."""
    stack.sql("VACUUM ANALYZE missions", fetch=False)
    stack.sql("CHECKPOINT", fetch=False)
    time.sleep(seconds)
