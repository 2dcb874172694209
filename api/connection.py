"""Closing the client's connection after a response that left the request body unread (a 413).

gunicorn drains at most 64 KiB of an unread body before reusing a keep-alive connection;
past that it closes the connection although the response said `Connection: keep-alive`,
and a pooled client's next request fails without knowing whether the first was stored.
gunicorn's `pre_request` hook hands us its request object (same thread as the app), and
setting its `must_close` makes gunicorn answer `Connection: close` and then close.
"""

from __future__ import annotations

import threading
from typing import Any

_local = threading.local()


def remember(req: Any) -> None:
    """gunicorn pre_request: the server-side request this thread is about to serve."""
    _local.req = req


def forget() -> None:
    """gunicorn post_request."""
    _local.req = None


def close_after_response() -> None:
    """Make the server close the connection after this response (no-op outside gunicorn)."""
    req = getattr(_local, "req", None)
    if req is not None:
        req.must_close = True
