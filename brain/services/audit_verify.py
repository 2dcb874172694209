"""Walking the audit hash chain: every row whose link or content does not check out.

The stored `data` is read as the exact text the database holds and parsed with the
stdlib (which keeps every number exactly), so what is re-hashed is what was hashed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from brain.models import Event
from brain.services.audit import GENESIS, chain_hash

MAX_LISTED = 1000  # breaks listed in a report; all of them are counted

_ROWS = select(
    Event.id,
    Event.type,
    Event.mission_id,
    Event.tenant,
    Event.actor,
    cast(Event.data, Text),
    Event.created_at,
    Event.prev_hash,
    Event.hash,
)


@dataclass
class Broken:
    event_id: int
    reason: str


@dataclass
class Report:
    checked: int
    breaks: list[Broken] = field(default_factory=list)
    broken_count: int = 0
    last_hash: str = GENESIS
    last_id: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_count == 0

    @property
    def broken(self) -> Broken | None:
        """The first break (None when the chain is whole)."""
        return self.breaks[0] if self.breaks else None


LINK = "prev_hash does not match the previous event's hash (an event was deleted, inserted or reordered before it)"
CONTENT = "content does not match its hash (the row was altered)"


def verify(session: Session, batch: int = 1000) -> Report:
    """Check every event in id order; after a break, go on from the row as stored to find the next one."""
    report = Report(checked=0)
    expected_prev, after = GENESIS, 0
    while True:
        rows = session.execute(_ROWS.where(Event.id > after).order_by(Event.id).limit(batch)).all()
        if not rows:
            report.last_hash, report.last_id = expected_prev, after
            return report
        for row in rows:
            event = Event(
                id=row[0],
                type=row[1],
                mission_id=row[2],
                tenant=row[3],
                actor=row[4],
                data=json.loads(row[5]) if row[5] is not None else None,
                created_at=row[6],
            )
            prev_hash, stored_hash = row[7], row[8]
            if prev_hash != expected_prev:
                _add(report, Broken(event.id, LINK))
            if stored_hash != chain_hash(prev_hash or "", event):
                _add(report, Broken(event.id, CONTENT))
            expected_prev, after = stored_hash, event.id
            report.checked += 1


def _add(report: Report, broken: Broken) -> None:
    report.broken_count += 1
    if len(report.breaks) < MAX_LISTED:
        report.breaks.append(broken)
