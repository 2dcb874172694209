"""Listing missions: newest first, keyset pages that never repeat or skip a row, one tenant at a time."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import text

from brain.db import utcnow
from brain.models import Mission
from brain.services import missions


def _add(session, tenant: str, created_at: dt.datetime) -> uuid.UUID:
    mid = uuid.uuid4()
    session.add(
        Mission(
            id=mid,
            tenant=tenant,
            name="m",
            agent="echo",
            priority="NORMAL",
            status="queued",
            attempts=0,
            payload={},
            created_at=created_at,
        )
    )
    return mid


def test_pages_cover_the_tenants_missions_exactly_once_newest_first(db_session):
    start = utcnow()
    # Two missions share a timestamp: the id breaks the tie, so the page edge cannot split them wrongly.
    ours = [_add(db_session, "acme", start + dt.timedelta(seconds=i // 2)) for i in range(7)]
    _add(db_session, "globex", start)
    db_session.commit()
    seen, cursor = [], None
    while True:
        rows, cursor = missions.list_missions(db_session, tenant="acme", limit=3, cursor=cursor)
        seen += [row.id for row in rows]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ours) and len(seen) == 7
    stamps = [db_session.get(Mission, mid).created_at for mid in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_tag_and_time_range_filters_select_exactly_their_missions(db_session):
    start = utcnow().replace(microsecond=0)
    tagged = []
    for i in range(6):
        mid = _add(db_session, "acme", start + dt.timedelta(minutes=i))
        if i % 2 == 0:
            db_session.get(Mission, mid).tags = ["nightly", f"n{i}"]
            tagged.append(mid)
    db_session.get(Mission, _add(db_session, "acme", start)).tags = ["nightly-extra"]  # not "nightly"
    db_session.commit()
    rows, _ = missions.list_missions(db_session, tenant="acme", tag="nightly")
    assert {row.id for row in rows} == set(tagged)
    window = dict(created_after=start + dt.timedelta(minutes=2), created_before=start + dt.timedelta(minutes=4))
    rows, _ = missions.list_missions(db_session, tenant="acme", **window)
    assert [row.created_at for row in rows] == [start + dt.timedelta(minutes=m) for m in (3, 2)]
    rows, _ = missions.list_missions(db_session, tenant="acme", tag="nightly", **window)
    assert [row.id for row in rows] == [tagged[1]]


def _plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


def _bound(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    return json.dumps(value) if isinstance(value, list) else value


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_pages_of_100k_missions_come_from_an_index_without_a_sort(db_session):
    # 100k missions over two tenants: every page (the first, one deep behind a cursor, and each
    # filter) must walk an index in order and stop at the limit, never sort or scan the table.
    db_session.execute(
        text(
            """
            INSERT INTO missions (id, tenant, name, agent, priority, status, attempts, payload, tags, created_at)
            SELECT md5(i::text)::uuid, CASE WHEN i % 10 = 0 THEN 'globex' ELSE 'acme' END, 'm',
                   CASE WHEN i % 3 = 0 THEN 'sleep' ELSE 'echo' END, 'NORMAL',
                   CASE WHEN i % 7 = 0 THEN 'queued' ELSE 'succeeded' END, 1, '{}'::json,
                   (CASE WHEN i % 5 = 0 THEN '["nightly"]' ELSE '[]' END)::json,
                   timestamp '2026-01-01' + i * interval '1 second'
            FROM generate_series(1, 100000) AS i
            """
        )
    )
    db_session.execute(text("ANALYZE missions"))
    first, cursor = missions.list_missions(db_session, tenant="acme", limit=50)
    for _ in range(20):
        _, cursor = missions.list_missions(db_session, tenant="acme", limit=50, cursor=cursor)
    assert len(first) == 50 and cursor
    since = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    for filters in (
        {},
        {"cursor": cursor},
        {"status": "queued"},
        {"agent": "sleep", "cursor": cursor},
        {"tag": "nightly"},
        {"created_after": since, "created_before": since + dt.timedelta(hours=1)},
    ):
        stmt = missions.mission_page_query(db_session, tenant="acme", limit=50, **filters)
        compiled = stmt.compile(dialect=db_session.get_bind().dialect)
        # The driver gets what SQLAlchemy would bind: ids as text, the tag list as JSON.
        params = {k: _bound(v) for k, v in compiled.params.items()}
        raw = db_session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", params)
        nodes = _plan_nodes(raw.scalar()[0]["Plan"])
        kinds = [n["Node Type"] for n in nodes]
        assert nodes[0]["Node Type"] == "Limit", (filters, kinds)
        assert "Sort" not in kinds and "Seq Scan" not in kinds, (filters, kinds)
        assert any(n.get("Index Name", "").startswith("ix_missions_") for n in nodes), (filters, kinds)
