"""Unit fixtures: a database on SQLite and on PostgreSQL, a rolled-back session, a Flask test client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api import create_app
from brain import schema
from brain.config import Settings, load_settings
from brain.db import get_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A new, empty database (no schema yet), once on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/unit.db"
    return request.getfixturevalue("postgres").create_database(f"unit_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A new database at the current schema, once on each engine."""
    schema.upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    """A session whose every commit is a savepoint of one transaction rolled back after the test."""
    connection = get_engine(database_url).connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def unit_settings(database_url: str, redis_url: str, **env: str) -> Settings:
    """Standard-profile settings on the given database and Redis (auth on, HS256 test secret)."""
    return load_settings(
        {
            "BRAIN_PROFILE": "standard",
            "BRAIN_DATABASE_URL": database_url,
            "BRAIN_REDIS_URL": redis_url,
            "BRAIN_JWT_SECRET": "unit-test-jwt-secret-0123456789abcdef",
            **env,
        }
    )


@pytest.fixture
def make_client(database_url: str, redis_server) -> Iterator:
    """Build a Flask test client of the API with settings overridden by `env`."""

    def make(**env: str) -> FlaskClient:
        redis_server.client().flushdb()
        return create_app(unit_settings(database_url, redis_server.url, **env)).test_client()

    yield make


@pytest.fixture
def client(make_client) -> FlaskClient:
    """The API's Flask test client on a fresh database (standard profile settings)."""
    return make_client()
