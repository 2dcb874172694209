"""Per-request plumbing: request id, content-type, body-size and JSON-limit checks before any view."""

from __future__ import annotations

import io
import json
import re
import time
import uuid

from flask import Flask, Response, g, request
from flask_smorest import abort
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from api.connection import close_after_response
from api.console import session as console_session
from brain import logging as brain_logging
from brain.json_limits import MAX_DEPTH, MAX_INT, MIN_INT, problems, text_problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# gunicorn drains this much of a body no view read before it reuses a keep-alive connection.
UNREAD_BODY_KEPT = 64 * 1024


def _before() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.monotonic()
    # First, before anything can refuse the request: every log line of it carries its own id.
    brain_logging.clear()
    brain_logging.bind(request_id=g.request_id)
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
    chunked = request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "")
    if request.method not in _BODY_METHODS:
        if chunked or (request.content_length or 0) > UNREAD_BODY_KEPT:
            close_after_response()  # a body no view reads: the server cannot drain it and reuse the connection
        return
    if chunked and limit is not None:
        _read_chunked(limit)
    has_body = (request.content_length or 0) > 0 or chunked
    form = request.path in console_session.FORM_POSTS and request.mimetype == "application/x-www-form-urlencoded"
    if has_body and not request.is_json and not form:
        raise UnsupportedMediaType("Send the body as application/json.")


def _read_chunked(limit: int) -> None:
    """A chunked body has no Content-Length to check: read it (up to the limit) before any view.

    Werkzeug would silently truncate it at the limit, and the truncated JSON would be
    answered 400; over the limit it is a 413 like any other body.
    """
    try:
        body = request.environ["wsgi.input"].read(limit + 1)
    except Exception:  # noqa: BLE001 - gunicorn's chunk parser: a broken size, terminator or extension
        close_after_response()  # where the next request starts is unknown
        raise BadRequest("The chunked request body is malformed.") from None
    if len(body) > limit:
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
    request.environ["wsgi.input"] = io.BytesIO(body)


def _check_json_limits() -> None:
    """422 before any view for input that could not be stored and read back (brain/json_limits.py)."""
    query = {}
    for key, value in request.args.items(multi=True):
        bad = text_problem(key) or text_problem(value)
        if bad:
            query[key.encode("utf-8", "backslashreplace").decode()] = [bad]
    if query:
        abort(422, message="A query parameter cannot be accepted; see errors.", errors={"query": query})
    if request.method in _BODY_METHODS and request.is_json:
        found = _body_problems()
        if found:
            abort(422, message="The body holds values that cannot be stored; see errors.", errors={"json": found})


def _body_problems() -> dict[str, list[str]] | None:
    """The JSON limits the body breaks; None when it is not JSON at all (the schema layer's 400)."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except RecursionError:
        return {"$": [f"Nested more than {MAX_DEPTH} levels deep."]}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except ValueError:  # an integer too long for the parser: far outside 64 bits anyway
        return {"$": [f"Integers must be between {MIN_INT} and {MAX_INT} (signed 64-bit)."]}
    return problems(body)


def _after(response: Response) -> Response:
    response.headers["X-Request-ID"] = getattr(g, "request_id", "")
    if request.method == "OPTIONS" and response.status_code == 200 and not response.get_data():
        # Flask's automatic answer is an empty text/html 200: say "no content" instead (Allow stays).
        response.status_code = 204
        del response.headers["Content-Type"]
    return response


def register(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)


def register_limits(app: Flask) -> None:
    """After authorization: a caller who may not call learns nothing about its input."""
    app.before_request(_check_json_limits)
