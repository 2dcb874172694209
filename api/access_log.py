"""Per-request log context (request_id bound for every line) and one JSON access line per request."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from brain import logging as brain_logging

log = brain_logging.get_logger("brain.api.access")
_QUIET = {"/health/live", "/metrics"}


def _before() -> None:
    brain_logging.clear()
    brain_logging.bind(request_id=getattr(g, "request_id", None))
    g.started = time.monotonic()


def _after(response: Response) -> Response:
    if request.path not in _QUIET:
        log.info("request", method=request.method, path=request.path, status=response.status_code,
                 duration_ms=round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1))
    return response


def register(app: Flask) -> None:
    # After request_context.register: g.request_id is set by then.
    app.before_request(_before)
    app.after_request(_after)
