"""brain.health_check: the periodic task that records one SLA sample."""

from __future__ import annotations

from brain.celery import app
from brain.config import get_settings
from brain.services.health import record_check


@app.task(name="brain.health_check", ignore_result=True, acks_late=False)
def health_check_task() -> bool | None:
    check = record_check(get_settings())
    return None if check is None else check.ok
