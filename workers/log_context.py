"""Worker logging: structlog set up instead of Celery's, context bound per task, request id carried over."""

from __future__ import annotations

import logging

from celery import signals

from brain import logging as brain_logging
from brain.config import get_settings
from brain.logging import REQUEST_ID_HEADER


@signals.setup_logging.connect
def setup_logging(loglevel=None, **_) -> None:
    # Connecting this signal stops Celery from installing its own handlers.
    settings = get_settings()
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else (loglevel or settings.log_level)
    brain_logging.configure("worker", str(level), settings.log_format)


@signals.before_task_publish.connect
def carry_request_id(headers=None, **_) -> None:
    # Runs in the publisher (the API): the request's id travels with the message.
    request_id = brain_logging.current("request_id")
    if request_id and headers is not None:
        headers[REQUEST_ID_HEADER] = request_id


@signals.task_prerun.connect
def bind_task(task_id=None, task=None, args=None, **_) -> None:
    brain_logging.clear()
    request = getattr(task, "request", None)
    request_id = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        REQUEST_ID_HEADER
    )
    mission_id = args[0] if task is not None and task.name == "brain.run_mission" and args else None
    brain_logging.bind(task_id=task_id, request_id=request_id, mission_id=mission_id)


@signals.task_postrun.connect
def unbind_task(**_) -> None:
    brain_logging.clear()
