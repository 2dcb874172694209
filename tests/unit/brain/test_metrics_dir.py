"""The metrics directory a process tree makes is gone when that tree ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.processes import REPO


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_a_directory_made_by_a_process_is_removed_when_it_exits(tmp_path):
    path = _run(
        "import os; from brain import metrics_dir; p = metrics_dir.prepare('t'); "
        "pid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0); print(p)",
        TMPDIR=str(tmp_path),
    )
    assert path.startswith(str(tmp_path)) and not Path(path).exists()


def test_a_directory_given_by_the_caller_is_left_alone(tmp_path):
    given = tmp_path / "mine"
    _run("from brain import metrics_dir; metrics_dir.prepare('t')", PROMETHEUS_MULTIPROC_DIR=str(given))
    assert given.is_dir()


def test_a_directory_made_for_an_exec_is_removed_by_the_execd_process(tmp_path):
    made = tmp_path / "made"
    made.mkdir()
    _run(
        "from brain import metrics_dir; metrics_dir.remove_if_made_for_exec()",
        PROMETHEUS_MULTIPROC_DIR=str(made),
        BRAIN_METRICS_DIR_MADE=str(made),
    )
    assert not made.exists()
