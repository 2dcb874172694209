"""Session fixtures: real PostgreSQL and Redis servers, and running BRAiN stacks per profile."""

from __future__ import annotations

import itertools

import pytest
import redis

from tests.servers import start_postgres, start_redis
from tests.stack import Stack

PROFILES = ("minimal", "standard")


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


_redis_dbs = itertools.cycle(range(2, 16))


def make_stack(profile: str, request: pytest.FixtureRequest, db_name: str, shared: bool = False,
               **overrides: str) -> Stack:
    """A stack on its own database and, on standard, its own emptied Redis db number."""
    if profile == "standard":
        pg = request.getfixturevalue("postgres")
        redis_server = request.getfixturevalue("redis_server")
        # db 1 belongs to the shared stack; private stacks live one at a time in 2..15.
        db_index = 1 if shared else next(_redis_dbs)
        redis.Redis(port=redis_server.port, db=db_index).flushdb()
        stack = Stack.create(profile, database_url=pg.create_database(db_name),
                             redis_url=f"redis://127.0.0.1:{redis_server.port}/{db_index}", **overrides)
    else:
        stack = Stack.create(profile, **overrides)
    return stack


@pytest.fixture(scope="session", params=PROFILES)
def stack(request: pytest.FixtureRequest):
    """API (gunicorn, 2 workers) + one prefork worker node + beat, per profile, shared."""
    profile = request.param
    s = make_stack(profile, request, f"shared_{profile}", shared=True)
    try:
        s.start_api()
        s.start_worker(concurrency=2)
        s.start_beat()
        yield s
    finally:
        s.stop()


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
