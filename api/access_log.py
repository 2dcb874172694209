"""One JSON access line per request (its log context is bound by request_context)."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from brain import logging as brain_logging

log = brain_logging.get_logger("brain.api.access")
_QUIET = {"/health/live", "/metrics"}


def _after(response: Response) -> Response:
    if request.path not in _QUIET:
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1),
        )
    return response


def register(app: Flask) -> None:
    # request_context binds the request id and the start time, first thing in every request.
    app.after_request(_after)
