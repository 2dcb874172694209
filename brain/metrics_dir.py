"""Where prometheus_client's multiprocess files go; must run before it is imported."""

from __future__ import annotations

import os
import sys
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(role: str) -> str:
    """Give this process tree its own fresh multiprocess directory unless one is set."""
    existing = os.environ.get(ENV)
    if existing:
        os.makedirs(existing, exist_ok=True)
        return existing
    path = tempfile.mkdtemp(prefix=f"brain-metrics-{role}-")
    os.environ[ENV] = path
    _switch_value_class()
    return path


def _switch_value_class() -> None:
    # The celery CLI may import prometheus_client (via Flower's plugin) before the
    # app sets the directory; metrics created from now on must use the mmap values.
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()
