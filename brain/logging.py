"""Structured logs: structlog JSON lines (or console text) for API and workers, with bound context."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

# Context every line carries when known; bound per request (API) or per task (worker).
CONTEXT_KEYS = ("request_id", "mission_id", "tenant", "agent")
# The Celery message header that carries the submitting request's id to the worker.
REQUEST_ID_HEADER = "brain_request_id"
_HANDLER_NAME = "brain-structlog"


def _shared(role: str) -> list[Any]:
    def add_role(_, __, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("role", role)
        return event_dict

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_role,
    ]


def configure(role: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route stdlib logging and structlog through one handler on stderr (idempotent)."""
    shared = _shared(role)
    if fmt == "console":
        # Plain tracebacks: rich ones print local variables, which may hold secrets.
        renderer: Any = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        tail: list[Any] = []
    else:
        renderer = structlog.processors.JSONRenderer()
        tail = [structlog.processors.format_exc_info]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind(**values: Any) -> None:
    """Add context to every following line of this request or task (None values are skipped)."""
    bind_contextvars(**{k: str(v) for k, v in values.items() if v is not None})


def clear() -> None:
    clear_contextvars()


def current(key: str) -> Any:
    return get_contextvars().get(key)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
