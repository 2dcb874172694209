"""`brain api|up|flower` take --host/--port (and --workers); start-up failures are one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
import requests

from tests.servers import free_port, wait_for
from tests.stack import REPO

pytestmark = pytest.mark.e2e


def test_brain_api_takes_host_port_and_workers(bare_stack):
    port = free_port()
    proc = bare_stack.spawn(
        "api-options",
        [
            sys.executable,
            "-m",
            "brain.cli",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "2",
        ],
    )
    url = f"http://127.0.0.1:{port}"

    def live() -> bool:
        try:
            return requests.get(f"{url}/health/live", timeout=1).status_code == 200
        except requests.RequestException:
            return not proc.alive()

    wait_for(live, 60, what="brain api --port")
    assert proc.alive(), proc.tail()
    workers = psutil.Process(proc.popen.pid).children()
    assert len(workers) == 1  # --workers 1
    assert bare_stack.request("GET", "/api/missions/info", url=url).status_code == 200


@pytest.mark.parametrize("command", ["api", "up", "flower"])
def test_help_documents_the_options(command):
    out = subprocess.run(
        [sys.executable, "-m", "brain.cli", command, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert "--host" in out.stdout and "--port" in out.stdout
    if command != "flower":
        assert "--workers" in out.stdout


@pytest.mark.parametrize("url", ["postgresql://brain@127.0.0.1:1/brain", "postgres://brain@127.0.0.1:1/brain"])
def test_an_unreachable_database_is_one_line_and_exit_2(bare_stack, url):
    env = {**bare_stack.env, "BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": url}
    for command in (["api", "--port", str(free_port())], ["db", "current"], ["db", "upgrade"]):
        out = bare_stack.brain(*command, env=env, check=False)
        assert out.returncode == 2, (command, out.stderr)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("brain: error: database unreachable"), out.stderr
        assert "Traceback" not in out.stderr and "psycopg'" not in out.stderr
