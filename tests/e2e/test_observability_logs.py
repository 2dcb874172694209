"""Structured logs: the X-Request-ID round trip through response, error body, API and worker JSON lines."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.servers import wait_for

pytestmark = pytest.mark.e2e


def _json_lines(proc) -> list[dict]:
    out = []
    for line in proc.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def test_request_id_round_trip_in_responses_and_logs(stack):
    rid = f"rid-{uuid.uuid4().hex}"
    resp = stack.request(
        "POST", "/api/missions", json={"name": "logged", "agent": "echo"}, headers={"X-Request-ID": rid}
    )
    assert resp.status_code == 202 and resp.headers["X-Request-ID"] == rid
    mission_id = resp.json()["id"]
    stack.wait_status(mission_id)

    bad = stack.request("GET", "/api/events", params={"limit": "x"}, headers={"X-Request-ID": rid})
    assert bad.status_code == 422 and bad.json()["request_id"] == rid and bad.headers["X-Request-ID"] == rid
    generated = stack.request("GET", "/api/events", params={"limit": 1})
    assert len(generated.headers["X-Request-ID"]) >= 16

    apis = [p for p in stack.procs if p.name == "api"]
    workers = [p for p in stack.procs if p.name.startswith("worker-")]

    def api_line() -> dict | None:
        return next(
            (
                e
                for p in apis
                for e in _json_lines(p)
                if e.get("request_id") == rid and e.get("path") == "/api/missions"
            ),
            None,
        )

    line = wait_for(api_line, 10, what="the API's JSON access line")
    assert line["method"] == "POST" and line["status"] == 202 and line["level"] == "info"

    def worker_lines() -> list[dict]:
        return [e for p in workers for e in _json_lines(p) if e.get("mission_id") == mission_id]

    lines = wait_for(worker_lines, 10, what="the worker's JSON lines for the mission")
    assert all(e["request_id"] == rid for e in lines)
    assert any(e.get("agent") == "echo" and e.get("tenant") for e in lines)
