"""brain.sweep: the periodic task that republishes lost missions."""

from __future__ import annotations

from brain.celery import app
from brain.config import get_settings
from brain.sweeper import sweep


@app.task(name="brain.sweep", ignore_result=True, acks_late=False)
def sweep_task() -> dict[str, int]:
    return sweep(get_settings())
