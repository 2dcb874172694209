"""Opaque keyset cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from brain.errors import InvalidMission


def encode_cursor(created_at: dt.datetime, id_: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{id_}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, id_ = raw.split("|", 1)
        when = dt.datetime.fromisoformat(stamp)
        when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
        return when, uuid.UUID(id_)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise InvalidMission("invalid cursor", "cursor", ["Not a cursor returned by this API."], "query") from None


def encode_name_cursor(name: str) -> str:
    """A cursor over a listing ordered by name: the last name of the page."""
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def decode_name_cursor(cursor: str) -> str:
    try:
        name = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        name = ""
    if not name:
        raise InvalidMission("invalid cursor", "cursor", ["Not a cursor returned by this API."], "query")
    return name
