"""Every process this test run starts carries a marker in its environment, so the run can prove none outlives it.

The marker is inherited by everything the tests start, directly or not: API and worker
processes, their children, servers they daemonize (the embedded Redis), PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

import psutil

MARKER = "BRAINTEST_RUN_ID"  # not BRAIN_*: Stack keeps every variable but BRAIN_* ones
ROOT = "BRAINTEST_ROOT"


def mark_this_run() -> str:
    """This run's id, inherited by every process it starts."""
    return os.environ.setdefault(MARKER, uuid.uuid4().hex)


def run_root() -> str:
    """One throw-away directory for everything this run writes (short: unix socket paths are limited)."""
    root = os.environ.get(ROOT)
    if not root or not os.path.isdir(root):
        root = os.environ[ROOT] = tempfile.mkdtemp(prefix="bt-run-", dir="/tmp")
        os.chmod(root, 0o711)  # PostgreSQL runs as its own user when the tests run as root
    return root


def scratch_dir(prefix: str) -> str:
    """A new directory under the run root."""
    return tempfile.mkdtemp(prefix=prefix, dir=run_root())


def survivors(run_id: str) -> list[psutil.Process]:
    """Processes of this run still alive, except this one and its parents."""
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.pid in own or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if proc.environ().get(MARKER) == run_id:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def wait_for_survivors(run_id: str, timeout: float = 15) -> list[psutil.Process]:
    """Give processes that were told to stop a moment to go, then name the ones still here."""
    deadline = time.monotonic() + timeout
    while True:
        left = survivors(run_id)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def describe(proc: psutil.Process) -> str:
    try:
        return f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {proc.pid}"
