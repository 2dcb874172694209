"""The one submission use case: a body becomes a stored mission (or a replay of one), admitted and published.

`submit` owns everything a mission must pass on its way in, whoever submits it (the API's
single and batch endpoints, pipelines): the body's fields and the rails' options, the
JSON limits, the Idempotency-Key, the time-limit cap, the agent's payload check, the
governor (and an approval it may require), the row and its audit events, and publishing
after the caller's transaction commits. The caller owns only the transaction and the
transport (HTTP status, headers).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from brain import logging as brain_logging
from brain import metrics
from brain.agents import PayloadInvalid, get_agent
from brain.config import Settings
from brain.db import utcnow
from brain.errors import BrainError, IdempotencyConflict, InvalidMission, PolicyDenied
from brain.governance import admission
from brain.json_limits import problems
from brain.models import Mission
from brain.models.mission import PRIORITIES
from brain.publisher import publish_after_commit
from brain.rails import default_chain
from brain.scheduling import policy as fair_policy
from brain.services import audit
from brain.time_limits import check_requested

ENQUEUED = "brain_missions_enqueued"  # counted once the transaction commits


class MissionBody(ma.Schema):
    """The fields every mission has; the rails add the options they declare (MissionSubmission below)."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    agent = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    priority = ma.fields.String(load_default="NORMAL", validate=ma.validate.OneOf(PRIORITIES))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10000))
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=100)),
        load_default=list,
        validate=ma.validate.Length(max=50),
    )


# Options come from the rails' declarations, so an option no rail reads is an unknown field (422).
MissionSubmission = type("MissionSubmission", (MissionBody,), dict(default_chain().option_fields))
OPTION_NAMES = frozenset(default_chain().option_fields) - {"timeout_s"}  # timeout_s has its own column
# One instance for every submission: building a schema (copying its fields) costs more than loading
# a body, and a batch loads up to BATCH_MAX of them. load() keeps no state between calls.
_SUBMISSION_SCHEMA = MissionSubmission()


@dataclass
class Submitted:
    mission: Mission
    created: bool  # False: an Idempotency-Key replay of an earlier submission

    @property
    def denied(self) -> bool:
        """The governor denied it: stored `rejected` for the audit trail; the caller answers 403."""
        return self.mission.status == "rejected" and bool(self.mission.decision)

    def denial(self) -> PolicyDenied:
        return admission.denied_error(self.mission)


def submit(
    session: Session,
    settings: Settings,
    body: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    tenant: str = "default",
    actor: str | None = None,
    pipeline_node: uuid.UUID | None = None,
) -> Submitted:
    """Validate a raw body (as any caller but the API sends it), then `submit_loaded`."""
    found = problems(body)
    if found:
        path, messages = next(iter(found.items()))
        raise InvalidMission("the body holds values that cannot be stored", path, messages)
    try:
        loaded = _SUBMISSION_SCHEMA.load(body)
    except ma.ValidationError as exc:
        raise InvalidMission("the mission failed validation", *next(iter(exc.normalized_messages().items())))
    return submit_loaded(
        session,
        settings,
        loaded,
        idempotency_key=idempotency_key,
        tenant=tenant,
        actor=actor,
        pipeline_node=pipeline_node,
    )


def submit_loaded(
    session: Session,
    settings: Settings,
    body: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    tenant: str = "default",
    actor: str | None = None,
    pipeline_node: uuid.UUID | None = None,
) -> Submitted:
    """Store a body already loaded by MissionSubmission (the API's schema): queued, held, or denied.

    `pipeline_node` is the pipeline node the mission runs for: its final state advances that run.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidMission("invalid Idempotency-Key", "Idempotency-Key", ["Must be 1-255 characters."], "headers")
    check_requested(settings, body.get("timeout_s"))
    body_hash = request_hash(body)
    if idempotency_key:
        existing = _by_idempotency_key(session, tenant, idempotency_key)
        if existing is not None:
            return Submitted(_replay(existing, body_hash), created=False)
    mission = _new_mission(settings, body, body_hash, idempotency_key, tenant, actor, pipeline_node)
    decision = admission.admit(settings, mission)
    if not idempotency_key:
        audit.insert_at_commit(session, mission)  # written with its events, in one statement
    else:
        try:
            # Only a keyed request can race another one: isolate its insert in a savepoint.
            with session.begin_nested():
                session.add(mission)
                session.flush()
        except IntegrityError:
            existing = _by_idempotency_key(session, tenant, idempotency_key)
            if existing is None:
                raise
            return Submitted(_replay(existing, body_hash), created=False)  # a concurrent request won
    audit.record(
        session,
        "mission.created",
        mission.id,
        tenant=tenant,
        actor=actor,
        data={"agent": mission.agent, "priority": mission.priority},
    )
    admission.record(session, settings, mission, decision, actor)
    if mission.status == "queued":
        audit.record(session, "mission.queued", mission.id, tenant=tenant, actor=actor)
        # Only a queued mission is published: one awaiting approval holds no message and no worker slot.
        publish_after_commit(session, settings, mission)
    session.info.setdefault(ENQUEUED, []).append((mission.agent, mission.priority))
    return Submitted(mission, created=True)


BATCH_MAX = 1000


def submit_batch(
    session: Session,
    settings: Settings,
    bodies: list[Any],
    *,
    idempotency_key: str | None = None,
    tenant: str = "default",
    actor: str | None = None,
) -> list[Submitted | BrainError]:
    """Every item through `submit`, in the caller's one transaction; results in order.

    An item refused on its own (invalid, an Idempotency-Key conflict, denied by policy) is its
    error, and the others still go in: nothing of a refused item is written but a denied
    mission's row (kept, as for a single submission, for the audit trail). The batch's
    Idempotency-Key keys each item as `<key>#<index>`, so a retried batch replays item by item.
    """
    if not 1 <= len(bodies) <= BATCH_MAX:
        raise InvalidMission("a batch holds 1 to 1000 missions", "missions", [f"Length must be 1-{BATCH_MAX}."])
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 250:
        raise InvalidMission("invalid Idempotency-Key", "Idempotency-Key", ["Must be 1-250 characters."], "headers")
    results: list[Submitted | BrainError] = []
    for index, body in enumerate(bodies):
        key = f"{idempotency_key}#{index}" if idempotency_key else None
        try:
            if not isinstance(body, dict):
                raise InvalidMission("a batch item must be a JSON object", "_schema", ["Not an object."])
            submitted = submit(session, settings, body, idempotency_key=key, tenant=tenant, actor=actor)
            results.append(submitted.denial() if submitted.denied else submitted)
        except (InvalidMission, IdempotencyConflict) as exc:
            results.append(exc)
    return results


def request_hash(body: dict[str, Any]) -> str:
    """Hash of a submission's canonical JSON, to tell a retry from a different request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_agent_payload(agent_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    agent = get_agent(agent_name)
    if agent is None:
        raise InvalidMission(f"unknown agent {agent_name!r}", "agent", [f"Unknown agent {agent_name!r}."])
    try:
        return agent.validate(payload)
    except PayloadInvalid as exc:
        raise InvalidMission(f"agent {agent_name!r} rejects the payload", "payload", exc.messages) from None


def _new_mission(
    settings: Settings,
    body: dict[str, Any],
    body_hash: str,
    idempotency_key: str | None,
    tenant: str,
    actor: str | None,
    pipeline_node: uuid.UUID | None = None,
) -> Mission:
    now = utcnow()
    return Mission(
        id=uuid.uuid4(),
        tenant=tenant,
        name=body["name"],
        description=body.get("description"),
        agent=body["agent"],
        payload=validate_agent_payload(body["agent"], body.get("payload") or {}),
        priority=body.get("priority", "NORMAL"),
        status="queued",
        attempts=0,
        timeout_s=body.get("timeout_s"),
        tags=list(body.get("tags") or []),
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        created_at=now,
        # Optimistic: published right after commit; the publisher clears this if that fails.
        # With fair scheduling it waits in its tenant's backlog until the dispatcher admits it.
        dispatched_at=None if fair_policy.enabled(settings) else now,
        submitted_by=actor,
        request_id=brain_logging.current("request_id"),
        options={k: body[k] for k in sorted(OPTION_NAMES) if body.get(k) is not None},
        would_have=[],
        pipeline_node_id=pipeline_node,
    )


def _by_idempotency_key(session: Session, tenant: str, key: str) -> Mission | None:
    return session.scalars(select(Mission).where(Mission.tenant == tenant, Mission.idempotency_key == key)).first()


def _replay(existing: Mission, body_hash: str) -> Mission:
    if existing.request_hash != body_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body",
            mission_id=str(existing.id),
        )
    return existing


@event.listens_for(Session, "after_commit")
def _count_enqueued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    for agent, priority in session.info.pop(ENQUEUED, None) or ():
        metrics.MISSIONS_ENQUEUED.labels(agent, priority).inc()


@event.listens_for(Session, "after_rollback")
def _forget_enqueued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: only the real transaction's end counts
    session.info.pop(ENQUEUED, None)
