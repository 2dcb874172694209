"""gunicorn's threaded worker, with the errors gunicorn answers itself in the API's one JSON error shape.

gunicorn refuses some requests before the app sees them (a control character in a header,
a request line too long, a broken chunk) and answers with an HTML page. This worker keeps
gunicorn's decisions (status, logging, closing the connection) and only rewrites the bytes
of that one response into the error shape of api/errors.py.
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from api.errors import ERROR_IDS


def json_error(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response in the error shape, closing the connection as gunicorn does."""
    request_id = uuid.uuid4().hex
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = json.dumps(
        {
            "code": status,
            "status": phrase,
            "error": ERROR_IDS.get(status, "bad_request"),
            "message": message,
            "request_id": request_id,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _JsonErrorSocket:
    """Stands in for the client socket while gunicorn writes its error page; sends JSON instead."""

    def __init__(self, sock: Any, message: str) -> None:
        self._sock = sock
        self._message = message

    def sendall(self, data: bytes, *args: Any) -> None:
        status = 400
        first = data.split(b"\r\n", 1)[0].split()
        if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
            status = int(first[1])
        message = self._message if status < 500 else "Internal error; the server log has the details."
        self._sock.sendall(json_error(status, message), *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class JsonErrorThreadWorker(ThreadWorker):
    """The gthread worker the API runs on (api/gunicorn_conf.py)."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        message = f"The request is malformed: {type(exc).__name__}"
        detail = str(exc).strip()
        if detail:
            # gunicorn's messages name the offending header or line; keep them short and printable.
            message += f" ({detail[:200].encode('ascii', 'backslashreplace').decode()})"
        super().handle_error(req, _JsonErrorSocket(client, message), addr, exc)
