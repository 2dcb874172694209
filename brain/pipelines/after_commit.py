"""What a run's transaction asks for once it commits: metrics, and cancelling the missions and sub-runs it ended.

A cancel runs in its own transaction, one mission at a time, because the lock order is
mission before run: cancelling a node's mission while holding its run's lock could
deadlock with a worker that finishes that mission. If the process dies before these run,
the sweeper finds ended runs with missions still going and cancels them (`cascade.sweep`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from brain.config import Settings

log = logging.getLogger("brain.pipelines")

PENDING = "brain_pipeline_after_commit"


def call(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once this session's transaction commits (never if it rolls back)."""
    session.info.setdefault(PENDING, []).append(action)


def cancel_mission(session: Session, settings: Settings, tenant: str, mission_id: uuid.UUID) -> None:
    from brain.pipelines import cascade

    call(session, lambda: cascade.cancel_mission(settings, tenant, mission_id))


def cancel_run(session: Session, settings: Settings, tenant: str, run_id: uuid.UUID) -> None:
    from brain.pipelines import cascade

    call(session, lambda: cascade.cancel_run(settings, tenant, run_id))


@event.listens_for(Session, "after_commit")
def _run(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    for action in session.info.pop(PENDING, None) or ():
        try:
            action()
        except Exception:
            # The sweeper repeats any cancel left undone; a metric lost here is only a metric.
            log.exception("pipeline after-commit action failed")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(PENDING, None)
