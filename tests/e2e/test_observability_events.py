"""Audit events over HTTP: a mission's life in order, filtered pages, the SSE tail, and `brain audit verify`."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from sqlalchemy.exc import DBAPIError

from tests.e2e.obs_helpers import database_url, sql
from tests.servers import wait_for
from tests.tamper import tamper

pytestmark = pytest.mark.e2e

LIFE = ["mission.created", "mission.queued", "mission.started", "mission.succeeded"]


def test_events_of_a_full_mission_life_in_order(stack):
    mission = stack.submit("echo", {"hello": "events"})
    stack.wait_status(mission["id"])
    resp = stack.request("GET", f"/api/missions/{mission['id']}/events")
    assert resp.status_code == 200
    items = resp.json()["items"]
    types = [e["type"] for e in items if e["type"].startswith("mission.")]
    assert types == LIFE
    assert all(e["mission_id"] == mission["id"] and len(e["hash"]) == 64 for e in items)
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)

    # The same events through the filtered list: newest first, page by page.
    seen, cursor = [], None
    while True:
        params = {"mission_id": mission["id"], "type": "mission.*", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = stack.request("GET", "/api/events", params=params).json()
        seen += [e["type"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(LIFE))
    only = stack.request("GET", "/api/events", params={"type": "mission.started", "mission_id": mission["id"]})
    assert [e["type"] for e in only.json()["items"]] == ["mission.started"]


def test_events_bad_input_is_4xx_in_the_error_shape(stack):
    unknown = stack.request("GET", f"/api/missions/{uuid.uuid4()}/events")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    for params in ({"cursor": "nonsense"}, {"limit": 0}, {"since": "yesterday"}, {"mission_id": "x"}):
        resp = stack.request("GET", "/api/events", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["error"] == "validation_failed"
    bad = stack.request("GET", "/api/events/stream", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422 and bad.json()["request_id"]


def _frames(resp: requests.Response):
    """Parse an SSE body into (id, event, data) as frames arrive."""
    frame: dict[str, str] = {}
    for line in resp.iter_lines(decode_unicode=True):
        if line:
            key, _, val = line.partition(": ")
            frame[key] = val
            continue
        if "id" in frame:
            yield int(frame["id"]), frame.get("event"), json.loads(frame["data"])
        frame = {}


def test_sse_tail_receives_a_new_event_and_resumes(stack):
    with stack.request("GET", "/api/events/stream", stream=True, timeout=60) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        mission = stack.submit("echo", {"sse": True})
        created_id = None
        for event_id, type_, data in _frames(resp):
            if data["mission_id"] == mission["id"] and type_ == "mission.created":
                created_id = event_id
                break
    assert created_id is not None
    stack.wait_status(mission["id"])
    # Reconnect with Last-Event-ID: the stream continues right after it.
    with stack.request(
        "GET",
        "/api/events/stream",
        params={"mission_id": mission["id"], "type": "mission.*"},
        stream=True,
        timeout=60,
        headers={"Last-Event-ID": str(created_id)},
    ) as resp:
        got = []
        for _event_id, type_, _ in _frames(resp):
            got.append(type_)
            if type_ == "mission.succeeded":
                break
    assert got == LIFE[1:]


def test_audit_verify_passes_then_catches_an_altered_row(stack):
    mission = stack.submit("echo")
    stack.wait_status(mission["id"])
    ok = stack.brain("audit", "verify", check=False)
    assert ok.returncode == 0, ok.stderr
    assert "audit chain ok" in ok.stdout

    target, actor = sql(stack, "SELECT id, actor FROM events ORDER BY id DESC LIMIT 1")[0]
    with pytest.raises(DBAPIError, match="append-only"):  # the app's own connection cannot
        sql(stack, "UPDATE events SET actor = 'mallory' WHERE id = :i", i=target)
    tamper(database_url(stack), "UPDATE events SET actor = 'mallory' WHERE id = :i", i=target)
    try:
        broken = stack.brain("audit", "verify", check=False)
        assert broken.returncode == 1
        assert f"event {target}" in broken.stderr and "altered" in broken.stderr
    finally:
        tamper(database_url(stack), "UPDATE events SET actor = :a WHERE id = :i", a=actor, i=target)
    assert stack.brain("audit", "verify", check=False).returncode == 0


def test_the_signed_head_is_published_by_the_workers_and_catches_a_rewritten_chain(bare_stack, tmp_path):
    heads = tmp_path / "heads.jsonl"
    env = {
        "BRAIN_AUDIT_SIGNING_KEY": "a-key-the-database-never-sees-0123456789",
        "BRAIN_AUDIT_HEAD_EXPORT": str(heads),
        "BRAIN_AUDIT_HEAD_EXPORT_INTERVAL_S": "10",
    }
    cli_env = {**bare_stack.env, **env}
    bare_stack.start_worker(concurrency=1, **env)
    bare_stack.wait_status(bare_stack.submit("echo")["id"])
    wait_for(lambda: heads.exists() and heads.read_text().strip(), 30, what="the sweep leader to publish a head")
    printed = json.loads(bare_stack.brain("audit", "head", env=cli_env).stdout)
    assert set(printed) == {"event_id", "hash", "events", "at", "signature"} and printed["event_id"] > 0
    with heads.open("a") as fh:
        fh.write(json.dumps(printed) + "\n")
    ok = bare_stack.brain("audit", "verify", "--head", str(heads), env=cli_env, check=False)
    assert ok.returncode == 0 and "every published head matches" in ok.stdout, ok.stderr
    # Rewritten consistently (every hash recomputed): the chain alone verifies, the head does not.
    url = database_url(bare_stack)
    tamper(url, "DELETE FROM events WHERE id = :i", i=printed["event_id"])
    bare_stack.wait_status(bare_stack.submit("echo")["id"])  # new events chain onto the truncated head
    broken = bare_stack.brain("audit", "verify", "--head", str(heads), env=cli_env, check=False)
    assert broken.returncode == 1 and "does not match" in broken.stderr, broken.stdout
    unsigned = bare_stack.brain("audit", "head", env=bare_stack.env, check=False)
    assert unsigned.returncode == 2 and "BRAIN_AUDIT_SIGNING_KEY" in unsigned.stderr
