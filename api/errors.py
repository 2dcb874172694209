"""The API's one error shape, and the table mapping BrainError subclasses to HTTP statuses."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
import redis
from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

from api.connection import close_after_response
from brain.db import UNAVAILABLE
from brain.errors import (
    BrainError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    IdempotencyConflict,
    InvalidMission,
    InvalidPipeline,
    NotFound,
    PolicyDenied,
    TenantDeleted,
    TenantSuspended,
    TenantUnknown,
)

log = logging.getLogger("brain.api")

# What a client told to come back after a dependency outage waits (Retry-After on every 503).
RETRY_AFTER_S = 2

# Stable snake_case ids clients can switch on, per HTTP status.
ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}

STATUS_OF: dict[type[BrainError], int] = {
    NotFound: 404,
    IdempotencyConflict: 409,
    Conflict: 409,
    InvalidMission: 422,
    InvalidPipeline: 422,
    PolicyDenied: 403,
    Forbidden: 403,
    TenantSuspended: 403,
    TenantUnknown: 403,
    TenantDeleted: 401,
    DependencyUnavailable: 503,
}


def error_body(code: int, message: str, error: str | None = None, errors: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "error": error or ERROR_IDS.get(code, "error"),
        "message": message,
        "request_id": getattr(g, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    return body


def _status_for(exc: BrainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def brain_error_body(exc: BrainError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the error shape of one BrainError (a response, or one batch item)."""
    code = _status_for(exc)
    errors = None
    if isinstance(exc, InvalidMission):
        errors = {exc.location: {exc.field: exc.messages}}
    elif exc.details:
        errors = exc.details
    return code, error_body(code, exc.message, exc.error, errors)


def handle_brain_error(exc: BrainError):
    code, body = brain_error_body(exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if code == 503 else {}
    return jsonify(body), code, headers


def handle_unavailable(exc: Exception):
    """The database or Redis is away: 503 with Retry-After (a transaction in flight was rolled back)."""
    what = "database" if isinstance(exc, UNAVAILABLE) else "Redis"
    log.warning("%s unavailable: %s: %s", what, type(exc).__name__, str(exc).strip().splitlines()[0][:300])
    body = error_body(
        503,
        f"The {what} is unavailable right now. Retry after {RETRY_AFTER_S} s; a retry with "
        "the same Idempotency-Key is never applied twice.",
        "dependency_unavailable",
    )
    return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_S)}


def handle_http_exception(exc: HTTPException):
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or exc.description or HTTPStatus(code).phrase
    error = None
    if code == 400 and errors and "json" in errors:
        error, message = "malformed_json", "The request body is not valid JSON."
    elif code == 422:
        message = data.get("message") or "The request failed validation; see errors."
    if code == 413:
        close_after_response()  # the body was not read: the connection cannot be reused
    response = jsonify(error_body(code, message, error, errors))
    response.status_code = code
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, RecursionError):
        return jsonify(error_body(400, "The request body is nested too deeply.")), 400
    log.exception("unhandled error")
    return jsonify(error_body(500, "Internal error; the request id identifies it in the logs.")), 500


def register(app: Flask) -> None:
    app.register_error_handler(BrainError, handle_brain_error)
    for exc_type in (*UNAVAILABLE, redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(exc_type, handle_unavailable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


class ErrorSchema(ma.Schema):
    """The one error shape every non-2xx response has (documented in OpenAPI)."""

    code = ma.fields.Integer()
    status = ma.fields.String()
    error = ma.fields.String()
    message = ma.fields.String()
    errors = ma.fields.Dict()
    request_id = ma.fields.String(allow_none=True)
