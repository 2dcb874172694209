"""Starting the processes under test and waiting until they serve."""

from __future__ import annotations

from pathlib import Path

import requests

# One process handle and one polling helper for tests and bench.
from tests.processes import REPO, Proc
from tests.processes import spawn as spawn_process
from tests.servers import wait_for

__all__ = ["REPO", "Proc", "spawn", "wait_http", "wait_worker_ready"]


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: str) -> Proc:
    return spawn_process(name, args, env, Path(log_dir) / f"{name}.log")


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
