"""POST /api/missions/batch: one transaction, results in order, one Idempotency-Key, limits in the error shape."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def _batch(stack, missions, **headers):
    return stack.request("POST", "/api/missions/batch", json={"missions": missions}, headers=headers)


def test_each_item_is_a_mission_or_its_own_error_in_order(stack):
    tag = uuid.uuid4().hex[:12]
    resp = _batch(
        stack,
        [
            {"name": "ok 1", "agent": "echo", "payload": {"n": 1}, "tags": [tag]},
            {"name": "no agent", "agent": "no.such.agent"},
            {"name": "bad field", "agent": "echo", "priority": "URGENT"},
            "not an object",
            {"name": "ok 2", "agent": "echo", "payload": {"n": 2}, "tags": [tag]},
        ],
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [item["status"] for item in body["items"]] == [202, 422, 422, 422, 202]
    assert (body["accepted"], body["refused"]) == (2, 3)
    unknown = body["items"][1]["error"]
    assert unknown["error"] == "validation_failed" and "agent" in unknown["errors"]["json"]
    assert "priority" in body["items"][2]["error"]["errors"]["json"]
    first, second = body["items"][0]["mission"], body["items"][4]["mission"]
    for accepted, n in ((first, 1), (second, 2)):
        done = stack.wait_status(accepted["id"])
        assert done["status"] == "succeeded" and done["result"] == {"n": n}
    listed = stack.request("GET", "/api/missions", params={"limit": 200}).json()["items"]
    assert sum(1 for m in listed if tag in m["tags"]) == 2  # nothing of the refused items was stored


def test_one_idempotency_key_replays_the_whole_batch(stack):
    key = f"batch-{uuid.uuid4()}"
    missions = [{"name": f"m{i}", "agent": "echo", "payload": {"i": i}} for i in range(3)]
    first = _batch(stack, missions, **{"Idempotency-Key": key}).json()
    again = _batch(stack, missions, **{"Idempotency-Key": key}).json()
    assert [i["mission"]["id"] for i in again["items"]] == [i["mission"]["id"] for i in first["items"]]
    changed = _batch(stack, [{**missions[0], "payload": {"i": 99}}], **{"Idempotency-Key": key}).json()
    assert changed["items"][0]["status"] == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"missions": []}, 422),
        ({"missions": [{"name": "x", "agent": "echo"}] * 1001}, 422),
        ({"missions": "echo"}, 422),
        ({}, 422),
    ],
)
def test_a_batch_outside_the_limits_is_refused_whole(stack, body, status):
    resp = stack.request("POST", "/api/missions/batch", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == status and "message" in resp.json()


def test_a_batch_larger_than_the_body_limit_is_413(stack):
    huge = [{"name": "x", "agent": "echo", "payload": {"blob": "x" * 2000}}] * 1000  # ~2 MB > 1 MiB
    resp = stack.request("POST", "/api/missions/batch", json={"missions": huge})
    assert resp.status_code == 413 and resp.json()["code"] == 413
