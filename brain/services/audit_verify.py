"""Walking the audit hash chain: the first row whose link or content does not check out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from brain.models import Event
from brain.services.audit import GENESIS, chain_hash


@dataclass
class Broken:
    event_id: int
    reason: str


@dataclass
class Report:
    checked: int
    broken: Broken | None
    last_hash: str

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(session: Session, batch: int = 1000) -> Report:
    """Check every event in id order; stop at the first broken link."""
    expected_prev, checked, after = GENESIS, 0, 0
    while True:
        rows = session.scalars(select(Event).where(Event.id > after).order_by(Event.id).limit(batch)).all()
        if not rows:
            return Report(checked, None, expected_prev)
        for event in rows:
            if event.prev_hash != expected_prev:
                reason = ("prev_hash does not match the previous event's hash "
                          "(an event was deleted, inserted or reordered before it)")
                return Report(checked, Broken(event.id, reason), expected_prev)
            if event.hash != chain_hash(expected_prev, event):
                return Report(checked, Broken(event.id, "content does not match its hash (the row was altered)"),
                              expected_prev)
            expected_prev, after = event.hash, event.id
            checked += 1
        session.expunge_all()
