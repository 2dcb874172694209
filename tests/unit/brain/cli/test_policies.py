"""`brain policies check` and `brain policies explain`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from brain.cli import cli

POLICY = """
default: allow
rules:
  - id: no-big-sleeps
    description: Sleeping longer than a minute is not allowed.
    priority: 10
    match:
      agent: sleep
      payload: [{field: seconds, gt: 60}]
    effect: deny
"""


def test_check_ok_and_problems(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY)
    ok = CliRunner().invoke(cli, ["policies", "check", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "1 rule(s)" in ok.output
    (tmp_path / "q.yaml").write_text("rules:\n  - id: q\n    effect: allow\n    priority: high\n")
    bad = CliRunner().invoke(cli, ["policies", "check", str(tmp_path)])
    assert bad.exit_code == 1
    assert "q.yaml:4: rule 'q': field 'priority'" in bad.output


def test_check_missing_directory(tmp_path):
    result = CliRunner().invoke(cli, ["policies", "check", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_explain_names_the_deciding_rule(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY)
    args = ["policies", "explain", "--agent", "sleep", "--dir", str(tmp_path)]
    denied = CliRunner().invoke(cli, [*args, "--payload", '{"seconds": 120}'])
    assert denied.exit_code == 0, denied.output
    assert "MATCH no-big-sleeps" in denied.output
    assert "decision: deny by rule no-big-sleeps: Sleeping longer" in denied.output
    allowed = CliRunner().invoke(cli, [*args, "--payload", '{"seconds": 1}', "--json"])
    body = json.loads(allowed.output)
    assert body["decision"]["rule_id"] == "default"
    assert body["trace"][0]["why"].startswith("payload.seconds fails")


def test_explain_rejects_bad_payload(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY)
    result = CliRunner().invoke(
        cli, ["policies", "explain", "--agent", "sleep", "--dir", str(tmp_path), "--payload", "{nope"]
    )
    assert result.exit_code == 2
    assert "--payload" in result.output
