"""The run's own leak check (tests/processes.py): a process it started is found until it is gone."""

from __future__ import annotations

import os
import subprocess
import sys

from tests import processes


def test_a_process_started_by_the_run_is_a_survivor_until_it_exits():
    run_id = os.environ[processes.MARKER]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert child.pid in {p.pid for p in processes.survivors(run_id)}
        assert child.pid not in {p.pid for p in processes.survivors("another-run")}
    finally:
        child.kill()
        child.wait()
    assert child.pid not in {p.pid for p in processes.survivors(run_id)}


def test_settings_loaded_in_the_test_process_never_point_at_the_real_home():
    from brain.config import load_settings

    data_dir = load_settings().data_dir
    assert data_dir.startswith(processes.run_root()) and ".brain" not in data_dir
