"""Whatever is accepted is stored, read back exactly and listed; what cannot be is a 422 before any write."""

from __future__ import annotations

import uuid

import pytest

from tests.servers import wait_for
from tests.stack import FINAL

pytestmark = pytest.mark.e2e

DEEP = '{"a":' * 300 + "1" + "}" * 300
UNSTORABLE = {
    "int_2_64": '{"name":"x","agent":"echo","payload":{"n":18446744073709551616}}',
    "int_10_400": '{"name":"x","agent":"echo","payload":{"n":1' + "0" * 400 + "}}",
    "nested_300": '{"name":"x","agent":"echo","payload":' + DEEP + "}",
    "budget_10_30": '{"name":"x","agent":"echo","budget":{"max_tokens":1' + "0" * 30 + "}}",
    "nan": '{"name":"x","agent":"echo","payload":{"v":NaN}}',
    "infinity": '{"name":"x","agent":"echo","payload":{"v":1e400}}',
    "nul_in_name": '{"name":"a\\u0000b","agent":"echo"}',
    "nul_in_description": '{"name":"a","description":"a\\u0000b","agent":"echo"}',
    "lone_surrogate": '{"name":"\\ud800","agent":"echo"}',
    "surrogate_key": '{"name":"x","agent":"echo","payload":{"\\udfff":1}}',
}


def _tenant_token(stack):
    return stack.token(sub="limits", tenant=f"lim{uuid.uuid4().hex[:10]}", roles=("admin",))


@pytest.mark.parametrize("body", list(UNSTORABLE.values()), ids=list(UNSTORABLE))
def test_unstorable_input_is_refused_before_anything_is_written(stack, body):
    token = _tenant_token(stack)
    for path in ("/api/missions", "/api/missions/enqueue"):
        resp = stack.request("POST", path, token=token, data=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == 422, resp.text
        err = resp.json()
        assert err["error"] == "validation_failed" and err["errors"]["json"], err
    listed = stack.request("GET", "/api/missions", token=token)
    assert listed.status_code == 200 and listed.json()["items"] == []  # nothing stored, nothing to retry into


@pytest.mark.parametrize(
    "path", ["/api/events?type=a%00b", "/api/missions?agent=a%00b", "/api/approvals?status=%ED%A0%80%00"]
)
def test_unstorable_query_values_are_422(stack, path):
    resp = stack.request("GET", path)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"]["query"]


def test_the_extremes_that_are_accepted_round_trip_exactly(stack):
    deep: object = "bottom"
    for _ in range(60):
        deep = {"d": deep}
    payload = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "f": 0.1,
        "big_f": 1.7976931348623157e308,
        "tiny": 5e-324,
        "text": "ünïcödé 😀 \u2028",
        "deep": deep,
        "list": [1, [2, [3]]],
    }
    token = _tenant_token(stack)
    body = {"name": "extremes", "agent": "echo", "payload": payload, "budget": {"max_tokens": 10**12}}
    resp = stack.request("POST", "/api/missions", token=token, json=body)
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["payload"] == payload and accepted["would_have"] == []
    read = stack.request("GET", f"/api/missions/{accepted['id']}", token=token).json()
    assert read["payload"] == payload and isinstance(read["payload"]["max"], int)
    listed = stack.request("GET", "/api/missions", token=token)
    assert listed.status_code == 200 and listed.json()["items"][0]["payload"] == payload
    done = wait_for(lambda: _final(stack, accepted["id"], token), 60, what="the echo mission")
    assert done["status"] == "succeeded" and done["result"] == payload


def _final(stack, mission_id: str, token: str) -> dict | None:
    mission = stack.request("GET", f"/api/missions/{mission_id}", token=token).json()
    return mission if mission["status"] in FINAL else None
