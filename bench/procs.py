"""Starting and stopping the processes under test, and measuring their memory."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from tests.servers import wait_for  # one polling helper for tests and bench

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        except ProcessLookupError:
            pass

    def tail(self, n: int = 40) -> str:
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


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: str) -> Proc:
    log = Path(log_dir) / f"{name}.log"
    popen = subprocess.Popen(args, cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                             start_new_session=True)
    return Proc(name, popen, log)


def wait_http(proc: Proc, url: str, timeout: float = 60) -> None:
    def up() -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            return requests.get(url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    wait_for(up, timeout, what=f"{proc.name} at {url}")


def wait_worker_ready(proc: Proc, timeout: float = 60) -> None:
    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        return "ready." in proc.tail(200)

    wait_for(ready, timeout, what=f"{proc.name} to be ready")
