"""MissionSchema's direct dump equals marshmallow's dump of the declared fields, key for key."""

from __future__ import annotations

import datetime as dt
import uuid

import marshmallow as ma
import pytest

from api.missions.schemas import MissionPageSchema, MissionSchema
from brain.models import Mission

NOW = dt.datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=dt.UTC)


def _missions() -> list[Mission]:
    bare = Mission(
        id=uuid.uuid4(),
        tenant="default",
        name="bare",
        agent="echo",
        priority="NORMAL",
        status="queued",
        attempts=0,
        created_at=NOW,
    )
    full = Mission(
        id=uuid.uuid4(),
        tenant="acme",
        name="full",
        description="all fields",
        agent="llm.chat",
        payload={"prompt": "hi", "n": 2},
        priority="HIGH",
        status="failed",
        result={"text": "partial", "items": [1, 2]},
        attempts=3,
        timeout_s=30,
        tags=["a", "b"],
        error={"code": "budget_exceeded", "message": "over", "rule_id": "not-declared"},
        created_at=NOW,
        started_at=NOW + dt.timedelta(seconds=1),
        finished_at=NOW + dt.timedelta(seconds=2),
        options={"start_within_s": 60, "max_retries": 2, "budget": {"tokens": 100}, "other": 1},
        usage={"tokens": 12, "cost_usd": 1, "extra": True},
        deferred_until=NOW,
        would_have=["timeout"],
        risk_tier="RESTRICTED",
        submitted_by="alice",
        decision={"effect": "allow", "rule_id": "r1"},
    )
    partial = Mission(
        id=uuid.uuid4(),
        tenant="t",
        name="p",
        agent="echo",
        priority="LOW",
        status="succeeded",
        attempts=1,
        created_at=NOW,
        result="plain text",
        error={"message": "only a message"},
        usage={"tokens": 5},
        tags=[],
        would_have=[],
        options={},
        payload={},
    )
    return [bare, full, partial]


@pytest.mark.parametrize("mission", _missions(), ids=lambda m: m.name)
def test_direct_dump_equals_marshmallow(mission):
    schema = MissionSchema()
    direct, declared = schema.dump(mission), ma.Schema.dump(schema, mission)
    assert direct == declared
    assert list(direct) == list(declared)  # the same key order too


def test_a_page_uses_the_direct_dump_for_every_item():
    missions = _missions()
    page = MissionPageSchema().dump({"items": missions, "next_cursor": None})
    assert page["items"] == [ma.Schema.dump(MissionSchema(), m) for m in missions]


def test_only_and_exclude_fall_back_to_marshmallow():
    mission = _missions()[1]
    assert MissionSchema(only=("id", "status")).dump(mission) == {"id": str(mission.id), "status": "failed"}
