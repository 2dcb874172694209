"""Session fixtures: real PostgreSQL and Redis servers, and running BRAiN stacks per profile.

The whole run writes under one throw-away directory (BRAIN_DATA_DIR included, set before any
test can load settings), and its end fails if a process it started is still alive or if
anything was written under the real ~/.brain (or ~/.gunicorn).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests import processes

RUN_ID = processes.mark_this_run()
RUN_ROOT = processes.run_root()
# Before anything imports brain: a test that forgets its own data dir lands here, never in ~/.brain.
os.environ["BRAIN_DATA_DIR"] = os.path.join(RUN_ROOT, "home")
# The user's own BRAiN data, and where gunicorn would put its control socket by default.
REAL_HOME_DIRS = (Path(os.path.expanduser("~")) / ".brain", Path(os.path.expanduser("~")) / ".gunicorn")


def _listing(path: Path) -> dict[str, float] | None:
    if not path.exists():
        return None
    return {str(p): p.stat().st_mtime for p in sorted(path.rglob("*")) if not p.is_socket()}


_HOME_BEFORE = [_listing(path) for path in REAL_HOME_DIRS]

from tests.servers import start_postgres, start_redis  # noqa: E402
from tests.stack import PROFILES, make_stack  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=PROFILES)
def stack(request: pytest.FixtureRequest):
    """API (gunicorn, 2 workers) + one prefork worker node + beat, per profile, shared."""
    profile = request.param
    # Multi-tenant, so that each test can keep to a tenant of its own on the shared stack.
    s = make_stack(profile, request, f"shared_{profile}", shared=True, BRAIN_MULTI_TENANCY="true")
    with s.serving(concurrency=2):
        yield s


@pytest.fixture(params=PROFILES)
def bare_stack(request: pytest.FixtureRequest):
    """A private stack with an API and beat but no worker: the test starts its own nodes."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:50]
    s = make_stack(request.param, request, name)
    try:
        s.start_api()
        s.start_beat()
        yield s
    finally:
        s.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if it leaves a process behind or touched the real ~/.brain; then clean up."""
    from brain.embedded_redis import stop as stop_embedded

    stop_embedded(os.environ["BRAIN_DATA_DIR"])  # started in-process by tests that import brain.celery
    problems = []
    for proc in processes.wait_for_survivors(RUN_ID):
        problems.append(f"still running after the tests: {processes.describe(proc)}")
        proc.kill()
    for path, before in zip(REAL_HOME_DIRS, _HOME_BEFORE, strict=True):
        if _listing(path) != before:
            problems.append(f"the tests wrote under {path}, in the user's home")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for problem in problems:
        if reporter is not None:
            reporter.write_line(f"tests/conftest.py: {problem}", red=True)
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(RUN_ROOT, ignore_errors=True)
