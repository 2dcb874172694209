"""`brain missions submit|get|list` talk to a running API."""

from __future__ import annotations

import json
import uuid

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


def test_pipelines_validate_apply_versions_diff_rollback(stack, tmp_path):
    env = {**stack.env, "BRAIN_API_URL": stack.api_url}
    name = f"cli{uuid.uuid4().hex[:8]}"
    first = tmp_path / "one.yaml"
    first.write_text(f"name: {name}\nversion: a\nnodes:\n  - {{id: only, type: mission, agent: echo}}\n")
    second = tmp_path / "two.yaml"
    second.write_text(first.read_text().replace("version: a", "version: b"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"name: {name}\nnodes:\n  - {{id: x, type: mission, agent: nope, dependencies: [y]}}\n")

    assert "valid" in stack.brain("pipelines", "validate", str(first), env=env).stdout
    bad = stack.brain("pipelines", "validate", str(broken), env=env, check=False)
    assert bad.returncode == 1
    assert "broken.yaml:3: node 'x': field 'agent': unknown agent 'nope'" in bad.stderr
    assert "unknown dependency 'y'" in bad.stderr and "2 problem(s)" in bad.stderr

    assert "version 1 is current (applied" in stack.brain("pipelines", "apply", "-f", str(first), env=env).stdout
    assert "unchanged" in stack.brain("pipelines", "apply", "-f", str(first), env=env).stdout
    assert "version 2 is current" in stack.brain("pipelines", "apply", "-f", str(second), env=env).stdout
    refused = stack.brain("pipelines", "apply", "-f", str(broken), env=env, check=False)
    assert refused.returncode == 1 and "unknown agent 'nope'" in refused.stderr

    assert f"{name}" in stack.brain("pipelines", "list", env=env).stdout
    versions = stack.brain("pipelines", "versions", name, env=env).stdout.splitlines()
    assert versions[0].startswith("* v2") and versions[1].startswith("  v1")
    diff = stack.brain("pipelines", "diff", name, "1", env=env).stdout
    assert "-version: a" in diff and "+version: b" in diff
    assert stack.brain("pipelines", "show", name, "--version", "1", "--source", env=env).stdout == first.read_text()
    assert "version 1 is current" in stack.brain("pipelines", "rollback", name, env=env).stdout
    assert json.loads(stack.brain("pipelines", "show", name, env=env).stdout)["label"] == "a"
