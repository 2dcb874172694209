"""Machine facts recorded with every run: cores, load, and the versions of what was measured."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from typing import Any

from bench.procs import REPO
from bench.stack import Stack


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def facts(stack: Stack) -> dict[str, Any]:
    wrk_v = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "celery": _version("celery"),
        "kombu": _version("kombu"),
        "flask": _version("flask"),
        "gunicorn": _version("gunicorn"),
        "sqlalchemy": _version("sqlalchemy"),
        "postgres": stack.sql("SHOW server_version")[0][0],
        "redis": stack.broker().info("server")["redis_version"],
        "wrk": " ".join(wrk_v.split()[:2]),
        "brain_commit": commit,
        "auth": stack.auth_note,
    }
