"""Profiles, environment overrides and start-up errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brain.config import load_settings
from brain.errors import ConfigError
from tests.stack import REPO


@pytest.mark.parametrize(
    ("profile", "workers", "phase", "governance", "tenancy", "secrets"),
    [
        ("minimal", 2, 0, False, False, "env"),
        ("standard", 5, 1, True, False, "env"),
        ("full", 10, 2, True, False, "env"),
        ("enterprise", 10, 2, True, True, "vault"),
    ],
)
def test_profile_defaults(profile, workers, phase, governance, tenancy, secrets):
    s = load_settings({"BRAIN_PROFILE": profile, "BRAIN_DATA_DIR": "/tmp/x"})
    assert (s.worker_count, s.neurorail_phase, s.governance_enabled, s.multi_tenancy, s.secrets_backend) == (
        workers,
        phase,
        governance,
        tenancy,
        secrets,
    )
    if profile == "minimal":
        assert s.database_url == "sqlite:////tmp/x/brain.db"
        assert s.embedded_redis and s.broker_url == "redis+socket:///tmp/x/redis.sock"
    else:
        assert s.database_url.startswith("postgresql")
        assert s.broker_url.startswith("redis://")


def test_minimal_is_the_default():
    assert load_settings({}).profile == "minimal"


def test_every_value_can_be_overridden():
    s = load_settings(
        {
            "BRAIN_PROFILE": "standard",
            "MISSION_WORKER_COUNT": "10",
            "NEURORAIL_PHASE": "2",
            "BRAIN_GOVERNANCE": "false",
            "BRAIN_DATABASE_URL": "postgresql://u:pw@db:5432/b",
            "BRAIN_REDIS_URL": "redis://r:6379/2",
            "BRAIN_BROKER_URL": "redis://b:6379/3",
            "BRAIN_MODULES": "missions,metrics",
            "BRAIN_MULTI_TENANCY": "yes",
            "BRAIN_SECRETS_BACKEND": "vault",
        }
    )
    assert s.worker_count == 10 and s.neurorail_phase == 2 and not s.governance_enabled
    assert s.database_url == "postgresql+psycopg2://u:pw@db:5432/b"  # the installed driver
    assert s.redis_url == "redis://r:6379/2" and s.broker_url == "redis://b:6379/3"
    assert s.modules == ("missions", "metrics") and s.multi_tenancy and s.secrets_backend == "vault"


@pytest.mark.parametrize("url", ["postgresql://u@db/b", "postgres://u@db/b", "postgresql+psycopg2://u@db/b"])
def test_postgres_urls_as_users_paste_them_use_the_installed_driver(url):
    s = load_settings({"BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": url})
    assert s.database_url == "postgresql+psycopg2://u@db/b"
    from sqlalchemy import create_engine

    assert create_engine(s.database_url).dialect.driver == "psycopg2"  # no ModuleNotFoundError: psycopg


def test_broker_defaults_to_the_redis_url():
    s = load_settings({"BRAIN_PROFILE": "standard", "BRAIN_REDIS_URL": "redis://r:6380/4"})
    assert s.broker_url == "redis://r:6380/4"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"BRAIN_PROFILE": "huge"}, "valid choices: minimal, standard, full, enterprise"),
        ({"BRAIN_DATABASE_URL": "mysql://h/db"}, "BRAIN_DATABASE_URL"),
        ({"BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": "postgresql://h:port/db"}, "malformed"),
        ({"BRAIN_REDIS_URL": "http://h"}, "BRAIN_REDIS_URL"),
        ({"MISSION_WORKER_COUNT": "many"}, "MISSION_WORKER_COUNT"),
        ({"NEURORAIL_PHASE": "3"}, "valid: 0..2"),
        ({"BRAIN_MODULES": "missions,teleport"}, "teleport"),
        ({"BRAIN_VISIBILITY_TIMEOUT_S": "60"}, "must exceed the largest hard time limit"),
    ],
)
def test_bad_settings_raise_a_clear_error(env, needle):
    with pytest.raises(ConfigError, match=None) as info:
        load_settings(env)
    assert needle in str(info.value)


def test_masked_hides_passwords_and_keys():
    s = load_settings(
        {
            "BRAIN_PROFILE": "standard",
            "BRAIN_DATABASE_URL": "postgresql://u:hunter2@db/b",
            "BRAIN_LLM_API_KEY": "sk-secret",
        }
    )
    shown = s.masked()
    assert "hunter2" not in str(shown) and "sk-secret" not in str(shown)
    assert shown["database_url"] == "postgresql+psycopg2://u:****@db/b"
    assert shown["llm_api_key"] == "****"


def _brain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "brain.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_profile_show_masks_secrets(monkeypatch):
    env = {"PATH": "/usr/bin:/bin", "BRAIN_DATABASE_URL": "postgresql://u:hunter2@db/b", "HOME": "/tmp"}
    out = _brain("profile", "show", "--profile", "standard", env=env)
    assert out.returncode == 0, out.stderr
    assert "standard" in out.stdout and "postgresql+psycopg2://u:****@db/b" in out.stdout
    assert "hunter2" not in out.stdout


@pytest.mark.parametrize("env", [{"BRAIN_PROFILE": "huge"}, {"BRAIN_REDIS_URL": "redis://h:xx/0"}])
def test_cli_bad_config_is_one_line_and_exit_2(env):
    out = _brain("up", env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env})
    assert out.returncode == 2
    assert out.stderr.startswith("brain: error:")
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_celery_worker_bad_profile_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "brain", "worker"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "BRAIN_PROFILE": "huge"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "unknown profile 'huge'" in out.stderr and "Traceback" not in out.stderr


def test_the_readme_settings_table_is_the_generated_one():
    from brain.config import settings_table

    readme = (REPO / "README.md").read_text()
    assert settings_table() in readme, "README's settings table is stale: paste the output of `brain settings docs`"
