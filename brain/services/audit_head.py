"""The audit chain's head, signed: published outside the database so a rewrite of the whole chain shows.

The chain proves that no row was edited, dropped or inserted between two others; someone
who can rewrite every row (and recompute every hash) defeats it. A head published
elsewhere (a file, a ticket, a log shipper, a URL) and signed with a key the database does
not hold pins the chain: a later rewrite no longer contains the published hash at its id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.request
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from brain.models import Event

FIELDS = ("event_id", "hash", "events", "at")


def _payload(head: dict[str, Any]) -> bytes:
    return json.dumps({k: head[k] for k in FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def sign(head: dict[str, Any], key: str) -> str:
    return hmac.new(key.encode(), _payload(head), hashlib.sha256).hexdigest()


def current(session: Session, key: str) -> dict[str, Any]:
    """The newest event's id and hash, the event count and the time, with an HMAC-SHA256 signature."""
    newest = session.execute(select(Event.id, Event.hash).order_by(Event.id.desc()).limit(1)).first()
    head = {
        "event_id": newest[0] if newest else 0,
        "hash": newest[1] if newest else "0" * 64,
        "events": session.scalar(select(func.count()).select_from(Event)) or 0,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    head["signature"] = sign(head, key)
    return head


def check(session: Session, head: dict[str, Any], key: str) -> str | None:
    """Why a published head no longer matches the database (None: it does)."""
    try:
        if not hmac.compare_digest(str(head["signature"]), sign(head, key)):
            return "its signature does not verify (not issued with this BRAIN_AUDIT_SIGNING_KEY, or edited)"
        event_id = int(head["event_id"])
    except (KeyError, TypeError, ValueError):
        return "it is not a head printed by `brain audit head`"
    if event_id == 0:
        return None
    stored = session.scalar(select(Event.hash).where(Event.id == event_id))
    if stored is None:
        return f"event {event_id} no longer exists (the chain was truncated or rewritten)"
    if stored != head["hash"]:
        return f"event {event_id} now has another hash (the chain was rewritten)"
    return None


def export(target: str, head: dict[str, Any], timeout_s: float = 10) -> None:
    """Publish a head: POST it as JSON to an http(s) URL, or append it as one line to a file."""
    line = json.dumps(head, sort_keys=True)
    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(
            target, data=line.encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
        return
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
