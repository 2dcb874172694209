"""Agents come from the built-ins, the `brain.agents` entry-point group and BRAIN_AGENT_MODULES."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.stack import REPO


def test_entry_point_and_module_agents_are_registered(tmp_path):
    # A real installed distribution (a dist-info on sys.path) declaring an entry point.
    (tmp_path / "acme_agents.py").write_text(
        textwrap.dedent("""
        from brain.agents import Agent

        class Shout(Agent):
            name = "acme.shout"
            def run(self, ctx, payload):
                return payload["text"].upper()
    """)
    )
    (tmp_path / "extra_agents.py").write_text(
        textwrap.dedent("""
        from brain.agents import Agent, register

        @register
        class Whisper(Agent):
            name = "extra.whisper"
            risk_tier = "SAFE"
            def run(self, ctx, payload):
                return payload["text"].lower()
    """)
    )
    dist = tmp_path / "acme_agents-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-agents\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[brain.agents]\nshout = acme_agents:Shout\n")
    code = textwrap.dedent("""
        from brain.agents.registry import load_agents, registered_agents
        load_agents(["extra_agents"])
        agents = registered_agents()
        print(sorted(agents))
        print(agents["acme.shout"].run(None, {"text": "hi"}), agents["extra.whisper"].risk_tier)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert out.returncode == 0, out.stderr
    names, result = out.stdout.splitlines()
    for name in ("echo", "sleep", "llm.chat", "acme.shout", "extra.whisper"):
        assert f"'{name}'" in names
    assert result == "HI SAFE"
