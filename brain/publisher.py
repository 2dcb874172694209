"""Publishing a mission is a consequence of a committed transaction: asked for in the transaction, done after commit.

Whoever makes a mission `queued` (a submission, an approval, a retry or deferral, the
sweeper) calls `publish_after_commit(session, ...)`. When that transaction commits, the
messages are sent; a rolled-back transaction sends nothing. If the broker cannot take a
message, the mission's `dispatched_at` is cleared so the sweeper publishes it later: a
committed `queued` row is never left without a message for long.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

from brain import metrics
from brain.db import session_scope, utcnow
from brain.dispatch import mission_queue, publish
from brain.scheduling import backlog, policy
from brain.services import execution

if TYPE_CHECKING:
    from celery import Celery

    from brain.config import Settings
    from brain.models import Mission

log = logging.getLogger("brain.publisher")

PENDING = "brain_publish_after_commit"
_app: Celery | None = None


def use(app: Celery) -> None:
    """The Celery app this process publishes with (set where the app is created)."""
    global _app
    _app = app


@dataclass
class _Pending:
    settings: Settings
    mission: Mission
    countdown: float | None
    reason: str | None


def celery_app() -> Celery | None:
    """The Celery app `use` set (None in a process that has none, e.g. a CLI command)."""
    return _app


def publish_after_commit(
    session: Session,
    settings: Settings,
    mission: Mission,
    *,
    countdown: float | None = None,
    reason: str | None = None,
    admitted: bool = False,
) -> None:
    """Send run_mission(mission) once this session's transaction commits.

    `reason` (the sweeper's: never_published, message_lost) counts the message in
    brain_missions_redispatched_total. With fair scheduling on, the mission goes to its
    tenant's backlog instead (ready after `countdown`), and only the dispatcher's
    admission (`admitted=True`) sends it.
    """
    if not admitted and policy.enabled(settings):
        if mission.dispatched_at is not None or countdown:
            not_before = utcnow() + dt.timedelta(seconds=countdown) if countdown else None
            backlog.to_backlog(session, mission.id, not_before)
        return
    session.info.setdefault(PENDING, []).append(_Pending(settings, mission, countdown, reason))


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    pending: list[_Pending] = session.info.pop(PENDING, None) or []
    if not pending:
        return
    if _app is None:
        _leave_to_sweeper(pending, "no Celery app in this process")
        return
    try:
        # One pipeline to the broker for the whole transaction (a batch submission: one
        # round trip, not one per mission). A failed flush leaves delivery uncertain, so
        # every message goes to the sweeper; a message sent twice is claimed once.
        declared: set[str] = set()
        with _app.producer_or_acquire() as producer, producer.batch():
            for item in pending:
                queue = mission_queue(item.mission.agent)
                publish(
                    _app,
                    item.settings,
                    item.mission,
                    countdown=item.countdown,
                    producer=producer,
                    declare=queue not in declared,
                )
                declared.add(queue)
    except Exception as exc:  # noqa: BLE001 - the broker is away: the sweeper publishes them
        _leave_to_sweeper(pending, f"{type(exc).__name__}: {exc}")
        return
    for item in pending:
        if item.reason:
            metrics.MISSIONS_REDISPATCHED.labels(item.reason).inc()


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    session.info.pop(PENDING, None)


def _leave_to_sweeper(unsent: list[_Pending], why: str) -> None:
    log.warning("could not publish %d mission(s) (%s); the sweeper will", len(unsent), why)
    try:
        with session_scope(unsent[0].settings.database_url) as session:
            for item in unsent:
                execution.clear_dispatched(session, item.mission.id)
    except Exception:
        log.exception("could not flag %d mission(s) as unpublished", len(unsent))
