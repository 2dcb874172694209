"""Listing missions: newest first, keyset pages that never repeat or skip a row, one tenant at a time."""

from __future__ import annotations

import datetime as dt
import uuid

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
