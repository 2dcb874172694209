"""Outcomes a worker could not write because the database was away: kept in Redis until written.

A finished agent must never run again only because its final write failed. The worker
retries the write briefly; if the database is still away it stashes the outcome here
(before it releases the mission's lease) and the sweeper writes it once the database is
back. The sweeper also looks here before it treats a lease-less running mission as lost.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from brain.models import Mission
from brain.rails.base import Outcome

PENDING_KEY = "brain:outcomes:pending"
TTL_S = 30 * 86400  # longer than any outage worth waiting out; the row stays `running` meanwhile


def _key(mission_id: str) -> str:
    return f"brain:outcome:{mission_id}"


@dataclass
class Record:
    """Everything needed to write one attempt's outcome, with or without the worker that ran it."""

    mission_id: str
    attempt: int
    tenant: str
    agent: str
    priority: str
    timeout_s: int | None
    outcome: Outcome
    usage: dict[str, Any] | None = None
    would_have: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def mission(self) -> Mission:
        """A transient mission with what the state changes and the publisher read."""
        return Mission(
            id=uuid.UUID(self.mission_id),
            attempts=self.attempt,
            tenant=self.tenant,
            agent=self.agent,
            priority=self.priority,
            timeout_s=self.timeout_s,
        )

    def to_json(self) -> str:
        data = asdict(self)
        until = self.outcome.deferred_until
        data["outcome"]["deferred_until"] = until.isoformat() if until else None
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Record:
        data = json.loads(raw)
        outcome = data.pop("outcome")
        if outcome.get("deferred_until"):
            outcome["deferred_until"] = dt.datetime.fromisoformat(outcome["deferred_until"])
        data["events"] = [tuple(e) for e in data.get("events") or []]
        return cls(outcome=Outcome(**outcome), **data)


def put(client: redis.Redis, record: Record) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set(_key(record.mission_id), record.to_json(), ex=TTL_S)
    pipe.sadd(PENDING_KEY, record.mission_id)
    pipe.execute()


def pending(client: redis.Redis, limit: int = 500) -> list[Record]:
    ids = [i.decode() if isinstance(i, bytes) else i for i in client.srandmember(PENDING_KEY, limit) or []]
    if not ids:
        return []
    out = []
    for mission_id, raw in zip(ids, client.mget([_key(i) for i in ids]), strict=True):
        if raw is None:
            client.srem(PENDING_KEY, mission_id)  # expired: nothing left to write
        else:
            out.append(Record.from_json(raw))
    return out


def has(client: redis.Redis, mission_ids: list[str]) -> set[str]:
    """Which of these missions have an outcome waiting to be written."""
    if not mission_ids:
        return set()
    pipe = client.pipeline(transaction=False)
    for mission_id in mission_ids:
        pipe.exists(_key(mission_id))
    return {m for m, n in zip(mission_ids, pipe.execute(), strict=True) if n}


def done(client: redis.Redis, mission_id: str) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.delete(_key(mission_id))
    pipe.srem(PENDING_KEY, mission_id)
    pipe.execute()
