"""Per-request plumbing: request id, content-type and body-size checks before any view."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _before() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    if request.method in _BODY_METHODS:
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
        has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
        if has_body and not request.is_json:
            raise UnsupportedMediaType("Send the body as application/json.")


def _after(response: Response) -> Response:
    response.headers["X-Request-ID"] = getattr(g, "request_id", "")
    return response


def register(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
