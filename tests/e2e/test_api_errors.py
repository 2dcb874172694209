"""Every error over HTTP has the one JSON shape: never HTML, never a traceback."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

SHAPE = {"code", "status", "error", "message", "request_id"}


def _assert_shape(resp, code: int, error: str) -> dict:
    assert resp.status_code == code, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert SHAPE <= set(body), body
    assert body["code"] == code and body["error"] == error
    assert "Traceback" not in resp.text and "<html" not in resp.text.lower()
    assert body["request_id"] == resp.headers["X-Request-ID"]
    return body


def test_malformed_json_400(stack):
    resp = stack.request("POST", "/api/missions", data="{nope", headers={"Content-Type": "application/json"})
    _assert_shape(resp, 400, "malformed_json")


def test_non_utf8_body_400(stack):
    resp = stack.request(
        "POST", "/api/missions", data=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    _assert_shape(resp, 400, "malformed_json")


def test_wrong_content_type_415(stack):
    resp = stack.request("POST", "/api/missions", data="name=x", headers={"Content-Type": "text/plain"})
    _assert_shape(resp, 415, "unsupported_media_type")


def test_body_over_1mib_413(stack):
    big = '{"name": "x", "agent": "echo", "payload": {"blob": "' + "a" * (1024 * 1024 + 10) + '"}}'
    resp = stack.request("POST", "/api/missions", data=big, headers={"Content-Type": "application/json"})
    _assert_shape(resp, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent": "echo"}, "name"),
        ({"name": "", "agent": "echo"}, "name"),
        ({"name": "x" * 201, "agent": "echo"}, "name"),
        ({"name": "x", "agent": "echo", "priority": "URGENT"}, "priority"),
        ({"name": "x", "agent": "echo", "timeout_s": 0}, "timeout_s"),
        ({"name": "x", "agent": "echo", "timeout_s": 86401}, "timeout_s"),
        ({"name": "x", "agent": "echo", "payload": [1, 2]}, "payload"),
        ({"name": "x", "agent": "echo", "tags": "a"}, "tags"),
        ({"name": "x", "agent": "echo", "surprise": 1}, "surprise"),
        ({"name": "x", "agent": "no.such.agent"}, "agent"),
        ({"name": "x", "agent": "sleep", "payload": {"seconds": "soon"}}, "payload"),
    ],
)
def test_validation_422_names_the_field(stack, body, field):
    resp = stack.request("POST", "/api/missions", json=body)
    err = _assert_shape(resp, 422, "validation_failed")
    assert field in err["errors"]["json"], err


def test_timeout_above_configured_max_422(stack):
    resp = stack.request("POST", "/api/missions", json={"name": "x", "agent": "echo", "timeout_s": 121})
    err = _assert_shape(resp, 422, "validation_failed")
    assert "timeout_s" in err["errors"]["json"]


def test_bad_query_422(stack):
    _assert_shape(stack.request("GET", "/api/missions", params={"status": "bogus"}), 422, "validation_failed")
    _assert_shape(stack.request("GET", "/api/missions", params={"limit": 0}), 422, "validation_failed")
    err = _assert_shape(stack.request("GET", "/api/missions", params={"cursor": "!!"}), 422, "validation_failed")
    assert "cursor" in err["errors"]["query"]


def test_unknown_mission_and_route_404(stack):
    _assert_shape(stack.request("GET", "/api/missions/6f9619ff-8b86-d011-b42d-00c04fc964ff"), 404, "not_found")
    _assert_shape(stack.request("GET", "/api/missions/not-a-uuid"), 404, "not_found")
    _assert_shape(stack.request("GET", "/api/nowhere"), 404, "not_found")
    _assert_shape(stack.request("POST", "/api/missions/6f9619ff-8b86-d011-b42d-00c04fc964ff/cancel"), 404, "not_found")


def test_wrong_method_405(stack):
    resp = stack.request("DELETE", "/api/missions")
    _assert_shape(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


def test_request_id_round_trip(stack):
    resp = stack.request("GET", "/api/missions/info", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    err = stack.request("GET", "/api/nowhere", headers={"X-Request-ID": "abc-456"})
    assert err.json()["request_id"] == "abc-456"


def test_openapi_and_docs(stack):
    spec = stack.request("GET", "/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/missions",
        "/api/missions/{mission_id}",
        "/api/missions/{mission_id}/cancel",
        "/api/missions/info",
        "/api/missions/enqueue",
        "/health/ready",
    ):
        assert path in spec["paths"]
    docs = stack.request("GET", "/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_options_is_204_without_html(stack):
    resp = stack.request("OPTIONS", "/api/missions")
    assert resp.status_code == 204 and not resp.content
    assert "text/html" not in resp.headers.get("Content-Type", "")
    assert "POST" in resp.headers["Allow"]


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/missions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"GET /api/missions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["control_char_header", "nul_header", "request_line_too_long"],
)
def test_requests_the_server_refuses_itself_get_the_json_shape(stack, request_bytes):
    raw = _raw(stack.api_url, request_bytes)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500 and b"application/json" in head and b"<html" not in raw.lower()
    err = json.loads(body)
    assert err["code"] == status and err["error"] and err["request_id"]


def test_chunked_body_over_the_limit_is_413_and_the_connection_is_closed(stack):
    big = b'{"name": "x", "agent": "echo", "payload": {"blob": "' + b"a" * (1024 * 1024 + 10) + b'"}}'
    resp = stack.request(
        "POST",
        "/api/missions",
        data=(big[i : i + 65536] for i in range(0, len(big), 65536)),
        headers={"Content-Type": "application/json"},
    )
    _assert_shape(resp, 413, "payload_too_large")
    assert resp.headers["Connection"] == "close"
    parts = [b'{"name": "c", "agent": "echo",', b' "payload": {}}']
    small = stack.request("POST", "/api/missions", data=iter(parts), headers={"Content-Type": "application/json"})
    assert small.status_code == 202, small.text


def test_a_pooled_client_survives_413s(stack):
    big = '{"name": "x", "agent": "echo", "payload": {"blob": "' + "a" * (1024 * 1024 + 10) + '"}}'
    session = requests.Session()
    headers = {"Authorization": f"Bearer {stack.env['BRAIN_API_TOKEN']}", "Content-Type": "application/json"}
    for _ in range(10):
        resp = session.post(f"{stack.api_url}/api/missions", data=big, headers=headers, timeout=30)
        assert resp.status_code == 413 and resp.headers["Connection"] == "close"
        # The next request on the pool must not meet a connection the server closed under it.
        ok = session.post(
            f"{stack.api_url}/api/missions", json={"name": "after", "agent": "echo"}, headers=headers, timeout=30
        )
        assert ok.status_code == 202, ok.text


def test_unknown_breaker_reset_is_404_and_creates_nothing(stack):
    name = f"no-such-breaker-{uuid.uuid4().hex[:8]}"
    _assert_shape(stack.request("POST", f"/api/neurorail/reflexes/{name}/reset"), 404, "not_found")
    names = [b["name"] for b in stack.request("GET", "/api/neurorail/reflexes").json()["items"]]
    assert name not in names


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not a chunk size
        b"2\r\n{}XX0\r\n\r\n",  # no terminator after the chunk
        b"2;\x01\r\n{}\r\n0\r\n\r\n",  # a control character in a chunk extension
    ],
    ids=["bad_size", "bad_terminator", "bad_extension"],
)
def test_a_malformed_chunked_body_is_400_before_anything_else(stack, chunks):
    for token in (None, stack.env["BRAIN_API_TOKEN"]):
        auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
        raw = _raw(
            stack.api_url,
            b"POST /api/missions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + auth
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + chunks,
        )
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.split(b" ", 2)[1] == b"400" and b"Connection: close" in head, raw[:300]
        assert json.loads(body)["error"] == "bad_request"


def test_an_integer_too_long_to_parse_is_422(stack):
    body = '{"name":"n","agent":"echo","payload":{"n":1' + "0" * 4400 + "}}"
    resp = stack.request("POST", "/api/missions", data=body, headers={"Content-Type": "application/json"})
    err = _assert_shape(resp, 422, "validation_failed")
    assert "64-bit" in json.dumps(err["errors"])


def test_nesting_far_beyond_the_limit_is_422_too(stack):
    body = '{"name":"n","agent":"echo","payload":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    resp = stack.request("POST", "/api/missions", data=body, headers={"Content-Type": "application/json"})
    _assert_shape(resp, 422, "validation_failed")


def _cursor(stamp: str) -> str:
    return base64.urlsafe_b64encode(f"{stamp}|{uuid.UUID(int=0)}".encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/missions", {"cursor": _cursor("0001-01-01T00:00:00+14:00")}),
        ("/api/approvals", {"cursor": _cursor("9999-12-31T23:59:59-14:00")}),
        ("/api/events", {"since": "0001-01-01T00:00:00+14:00"}),
        ("/api/events", {"since": "9999-12-31T23:59:59-14:00"}),
    ],
    ids=["cursor_before_year_1", "approvals_cursor_after_9999", "since_before_year_1", "since_after_9999"],
)
def test_times_that_do_not_exist_in_utc_are_422(stack, path, params):
    _assert_shape(stack.request("GET", path, params=params), 422, "validation_failed")


def test_a_last_event_id_that_only_looks_like_digits_is_422(stack):
    resp = stack.request("GET", "/api/events/stream", headers={"Last-Event-ID": "²"})
    _assert_shape(resp, 422, "validation_failed")


def test_reset_of_a_name_that_is_not_a_breaker_is_404_and_the_list_stays_readable(stack):
    for name in ("index", "test.fail:failures", "x:failures"):
        _assert_shape(stack.request("POST", f"/api/neurorail/reflexes/{name}/reset"), 404, "not_found")
    assert stack.request("GET", "/api/neurorail/reflexes").status_code == 200


@pytest.mark.parametrize(
    "claims",
    [{"exp": 10**400}, {"iat": -(10**400)}, {"sub": "a\x00b"}, {"sub": "\ud800"}],
    ids=["exp_huge", "iat_huge", "sub_nul", "sub_surrogate"],
)
def test_signed_tokens_with_unusable_claims_are_401(stack, claims):
    import jwt

    from tests.stack import JWT_SECRET

    body = {"sub": "alice", "roles": ["admin"], "iat": int(time.time()), "exp": int(time.time()) + 60, **claims}
    token = jwt.encode(body, JWT_SECRET, algorithm="HS256")
    for method, path in (("GET", "/api/missions"), ("POST", "/api/missions")):
        resp = stack.request(method, path, token=token, json={"name": "x", "agent": "echo"})
        _assert_shape(resp, 401, "unauthorized")


def test_unread_bodies_on_other_methods_keep_pooled_clients_working(stack):
    session = requests.Session()
    headers = {"Authorization": f"Bearer {stack.env['BRAIN_API_TOKEN']}", "Content-Type": "application/json"}
    for method, size in (("DELETE", 2 * 1024 * 1024), ("GET", 200 * 1024), ("OPTIONS", 200 * 1024)):
        resp = session.request(method, f"{stack.api_url}/api/missions", data=b"x" * size, headers=headers, timeout=30)
        assert resp.headers["Connection"] == "close", (method, resp.status_code)
        ok = session.get(f"{stack.api_url}/api/missions/info", headers=headers, timeout=30)
        assert ok.status_code == 200


def test_a_doubled_slash_is_a_json_404_not_an_html_redirect(stack):
    for method, path in (("GET", "/api//missions"), ("POST", "/api//missions"), ("GET", "/health//live")):
        resp = stack.request(method, path, json={}, allow_redirects=False)
        _assert_shape(resp, 404, "not_found")


def test_a_refused_request_is_logged_under_its_own_request_id(stack):
    request_id = f"probe-415-{uuid.uuid4().hex[:8]}"
    stack.request("GET", "/api/missions/info", headers={"X-Request-ID": "probe-before"})
    resp = stack.request(
        "POST", "/api/missions", data="x=1", headers={"Content-Type": "text/plain", "X-Request-ID": request_id}
    )
    assert resp.status_code == 415
    api_logs = "".join(p.tail(2000) for p in stack.procs if p.name == "api")
    lines = [line for line in api_logs.splitlines() if '"status": 415' in line and '"request"' in line]
    assert any(request_id in line for line in lines), lines[-3:]
