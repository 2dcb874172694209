"""Where prometheus_client's multiprocess files go; must run before it is imported.

A directory made here is removed when the process tree that made it ends (the process
that created it, or the gunicorn master it was made for), so /tmp does not fill with them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Set next to ENV when BRAiN made the directory for a process it then exec'ed (gunicorn):
# that process removes it when it exits.
MADE_FOR_EXEC = "BRAIN_METRICS_DIR_MADE"


def fresh(role: str) -> str:
    """A new, empty directory for one process tree's metrics files."""
    return tempfile.mkdtemp(prefix=f"brain-metrics-{role}-")


def prepare(role: str) -> str:
    """Give this process tree its own fresh multiprocess directory unless one is set."""
    existing = os.environ.get(ENV)
    if existing:
        os.makedirs(existing, exist_ok=True)
        return existing
    path = fresh(role)
    os.environ[ENV] = path
    atexit.register(_remove_if_creator, path, os.getpid())
    _switch_value_class()
    return path


def remove_if_made_for_exec() -> None:
    """In the exec'ed process (the gunicorn master) at exit: remove the directory made for it."""
    path = os.environ.get(ENV)
    if path and os.environ.get(MADE_FOR_EXEC) == path:
        shutil.rmtree(path, ignore_errors=True)


def _remove_if_creator(path: str, creator: int) -> None:
    # A forked child inherits the handler; only the process that made the directory removes it.
    if os.getpid() == creator:
        shutil.rmtree(path, ignore_errors=True)


def _switch_value_class() -> None:
    # The celery CLI may import prometheus_client (via Flower's plugin) before the
    # app sets the directory; metrics created from now on must use the mmap values.
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()
