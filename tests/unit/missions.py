"""A mission row stored straight in the database, for unit tests of the services that move it."""

from __future__ import annotations

import uuid
from typing import Any

from brain.db import session_scope, utcnow
from brain.models import Mission


def stored_mission(url: str, **values: Any) -> uuid.UUID:
    """A queued echo mission (override any column with `values`); its id."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "t",
        "agent": "echo",
        "payload": {},
        "status": "queued",
        "attempts": 0,
        "created_at": utcnow(),
        **values,
    }
    with session_scope(url) as session:
        session.add(Mission(**row))
    return row["id"]
