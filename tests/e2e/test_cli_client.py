"""`brain missions submit|get|list` talk to a running API."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_submit_wait_get_list(stack):
    env = {**stack.env, "BRAIN_API_URL": stack.api_url}
    out = stack.brain("missions", "submit", "--agent", "echo", "--payload", '{"msg": "cli"}', "--wait", env=env)
    mission = json.loads(out.stdout)
    assert mission["status"] == "succeeded" and mission["result"] == {"msg": "cli"}
    got = json.loads(stack.brain("missions", "get", mission["id"], env=env).stdout)
    assert got["id"] == mission["id"]
    listed = stack.brain("missions", "list", "--agent", "echo", "--limit", "5", env=env).stdout
    assert mission["id"] in listed


def test_submit_reports_api_errors(stack):
    env = {**stack.env, "BRAIN_API_URL": stack.api_url}
    out = stack.brain("missions", "submit", "--agent", "no.such", env=env, check=False)
    assert out.returncode != 0
    assert "422" in out.stderr and "Unknown agent" in out.stderr
