"""The processes tests and bench start: a handle on each, and a marker so a run can prove none outlives it.

The marker is inherited by everything the tests start, directly or not: API and worker
processes, their children, servers they daemonize (the embedded Redis), PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent

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


@dataclass
class Proc:
    """A process started in its own session (so its children stop with it), logging to one file."""

    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        except ProcessLookupError:
            pass

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def tree(self) -> list[psutil.Process]:
        """The process and its children (gunicorn workers, prefork pool processes)."""
        try:
            root = psutil.Process(self.popen.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the whole process tree, in MiB."""
        total = 0
        for proc in self.tree():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20


def spawn(name: str, args: list[str], env: dict[str, str], log: Path) -> Proc:
    """Start `args` from the repository root, appending its output to `log`."""
    popen = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    return Proc(name, popen, log)


def run_brain(*args: str, env: dict[str, str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one `brain` CLI command from the repository root and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "brain.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )
