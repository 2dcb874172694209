"""The one submission use case and publishing after commit (real SQLite or PostgreSQL, real Redis as the broker)."""

from __future__ import annotations

import uuid

import pytest
from celery import Celery
from kombu import Exchange, Queue

from brain import publisher
from brain.agents.registry import load_agents
from brain.config import load_settings
from brain.db import session_scope
from brain.dispatch import MISSION_QUEUE, PRIORITY_STEPS, queue_depths
from brain.errors import IdempotencyConflict, InvalidMission
from brain.models import Mission
from brain.submission import submit


@pytest.fixture
def settings(database_url, redis_server):
    url = database_url
    load_agents()
    redis_server.client().flushdb()
    before = publisher._app
    yield load_settings(
        {
            "BRAIN_PROFILE": "standard",
            "BRAIN_DATABASE_URL": url,
            "BRAIN_JWT_SECRET": "x",
            "BRAIN_REDIS_URL": redis_server.url,
            "BRAIN_GOVERNANCE": "false",
        }
    )
    publisher.use(before)


def _app(broker_url: str) -> Celery:
    app = Celery("submission-test", broker=broker_url)
    app.conf.update(
        broker_transport_options={
            "priority_steps": list(PRIORITY_STEPS),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        task_queues=(Queue(MISSION_QUEUE, Exchange(MISSION_QUEUE), routing_key=MISSION_QUEUE),),
        broker_connection_retry_on_startup=False,
        broker_connection_timeout=1,
        task_publish_retry=False,
    )
    return app


def _mission(settings, mission_id) -> Mission:
    with session_scope(settings.database_url) as session:
        return session.get(Mission, mission_id)


def test_a_committed_submission_is_published_and_a_rolled_back_one_is_not(settings, redis_server):
    publisher.use(_app(redis_server.url))
    with session_scope(settings.database_url) as session:
        done = submit(session, settings, {"name": "p", "agent": "echo", "payload": {"k": 1}})
        assert queue_depths(redis_server.client())[MISSION_QUEUE] == 0  # nothing before the commit
    assert done.created and done.mission.status == "queued"
    assert queue_depths(redis_server.client())[MISSION_QUEUE] == 1
    with pytest.raises(RuntimeError), session_scope(settings.database_url) as session:
        submit(session, settings, {"name": "rolled back", "agent": "echo"})
        raise RuntimeError("the caller's transaction fails")
    assert queue_depths(redis_server.client())[MISSION_QUEUE] == 1


def test_a_broker_that_refuses_leaves_the_mission_to_the_sweeper(settings):
    publisher.use(_app("redis://127.0.0.1:1/0"))
    with session_scope(settings.database_url) as session:
        done = submit(session, settings, {"name": "unpublished", "agent": "echo"})
    stored = _mission(settings, done.mission.id)
    assert stored.status == "queued" and stored.dispatched_at is None  # what the sweeper looks for


def test_raw_bodies_are_validated_like_the_api_does(settings, redis_server):
    publisher.use(_app(redis_server.url))
    bad = [
        ({"agent": "echo"}, "name"),
        ({"name": "x", "agent": "echo", "surprise": 1}, "surprise"),
        ({"name": "x", "agent": "echo", "payload": {"n": 2**64}}, "payload.n"),
        ({"name": "x", "agent": "nope"}, "agent"),
        ({"name": "x", "agent": "echo", "timeout_s": 10**6}, "timeout_s"),
    ]
    for body, field in bad:
        with pytest.raises(InvalidMission) as caught, session_scope(settings.database_url) as session:
            submit(session, settings, body)
        assert caught.value.field == field, (body, caught.value.field)


def test_idempotency_key_replays_and_conflicts(settings, redis_server):
    publisher.use(_app(redis_server.url))
    key = uuid.uuid4().hex
    with session_scope(settings.database_url) as session:
        first = submit(session, settings, {"name": "once", "agent": "echo"}, idempotency_key=key)
    with session_scope(settings.database_url) as session:
        again = submit(session, settings, {"name": "once", "agent": "echo"}, idempotency_key=key)
    assert first.created and not again.created and again.mission.id == first.mission.id
    assert queue_depths(redis_server.client())[MISSION_QUEUE] == 1  # a replay is not published again
    with pytest.raises(IdempotencyConflict), session_scope(settings.database_url) as session:
        submit(session, settings, {"name": "different", "agent": "echo"}, idempotency_key=key)
