"""Loading settings: the active profile's defaults, overridden by environment variables, validated."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brain import redis_urls
from brain.config.settings import Settings, all_specs, mask
from brain.errors import ConfigError
from brain.profiles import DEFAULT_PROFILE, PROFILE_NAMES, PROFILES
from brain.secrets import resolve_reference
from brain.time_limits import hard_limit


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{name}={mask(url)!r} is malformed ({exc})") from None
    if parts.scheme not in schemes:
        raise ConfigError(f"{name}={mask(url)!r} is malformed: scheme must be one of {', '.join(schemes)}")
    # PostgreSQL may name its hosts in the query instead (?host=a:5432&host=b:5432, for failover).
    hosts_in_query = parts.scheme.startswith("postgres") and "host=" in parts.query
    if parts.scheme in ("postgresql", "postgresql+psycopg2", "postgres", "redis", "rediss") and not (
        parts.hostname or hosts_in_query
    ):
        raise ConfigError(f"{name}={mask(url)!r} is malformed: no host")


def load_settings(env: Mapping[str, str] | None = None, profile: str | None = None) -> Settings:
    """Build Settings from `env` (default os.environ) on top of the chosen profile."""
    env = os.environ if env is None else env
    name = profile or env.get("BRAIN_PROFILE", DEFAULT_PROFILE) or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r} (BRAIN_PROFILE); valid choices: {', '.join(PROFILE_NAMES)}")
    values: dict[str, Any] = {"profile": name}
    for key, spec in all_specs().items():
        raw = env.get(spec.env)
        if raw and raw.startswith("vault:"):
            raw = resolve_reference(key, spec.env, raw, env)
        if raw is not None and raw != "":
            values[key] = spec.parse(spec.env, raw)
        elif spec.default is not None:
            values[key] = spec.default
        else:
            values[key] = PROFILES[name][key]
    data_dir = os.path.abspath(os.path.expanduser(values["data_dir"]))
    values["data_dir"] = data_dir
    values["database_url"] = database_url(values["database_url"].format(data_dir=data_dir))
    if values["redis_url"] == "embedded":
        values["embedded_redis"] = True
        values["redis_url"] = f"unix://{Path(data_dir) / 'redis.sock'}"
    if not values["broker_url"]:
        values["broker_url"] = _broker_from_redis(values["redis_url"])
    if not env.get("BRAIN_DEFAULT_TIMEOUT_S"):
        values["default_timeout_s"] = min(values["default_timeout_s"], values["max_timeout_s"])
    if not values["visibility_timeout_s"]:
        values["visibility_timeout_s"] = int(hard_limit(values["max_timeout_s"], values["time_limit_grace_s"])) + 300
    fields = {f.name for f in dataclasses.fields(Settings)}
    declared = {key: values.pop(key) for key in list(values) if key not in fields}
    settings = Settings(**values, declared=declared)
    _validate(settings)
    return settings


# The PostgreSQL driver BRAiN ships (psycopg2). SQLAlchemy 2.1 maps a bare postgresql:// to
# psycopg 3, which is not installed, and postgres:// to nothing; both are what users paste.
PG_DRIVER_SCHEME = "postgresql+psycopg2"


def database_url(url: str) -> str:
    """The URL with `postgresql://` or `postgres://` spelled for the installed driver."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"{PG_DRIVER_SCHEME}://{rest}"
    return url


def _broker_from_redis(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def _validate(s: Settings) -> None:
    _check_url("BRAIN_DATABASE_URL", s.database_url, ("sqlite", "postgresql", "postgresql+psycopg2", "postgres"))
    for name, url, schemes in (
        ("BRAIN_REDIS_URL", s.redis_url, ("redis", "rediss", "unix")),
        ("BRAIN_BROKER_URL", s.broker_url, ("redis", "rediss", "redis+socket")),
    ):
        if not redis_urls.is_sentinel(url):
            _check_url(name, url, (*schemes, "sentinel"))
            continue
        try:
            redis_urls.parse(url)  # several hosts in one URL: not a shape urlsplit checks
        except ConfigError as exc:
            raise ConfigError(f"{name}={mask(url)!r}: {exc}") from None
    longest = int(hard_limit(s.max_timeout_s, s.time_limit_grace_s))
    if s.visibility_timeout_s <= longest:
        raise ConfigError(
            f"BRAIN_VISIBILITY_TIMEOUT_S={s.visibility_timeout_s} must exceed the largest hard "
            f"time limit ({longest} s = BRAIN_MAX_TIMEOUT_S + BRAIN_TIME_LIMIT_GRACE_S)"
        )
    if s.default_timeout_s > s.max_timeout_s:
        raise ConfigError("BRAIN_DEFAULT_TIMEOUT_S must not exceed BRAIN_MAX_TIMEOUT_S")
    if "missions" not in s.modules:
        raise ConfigError("BRAIN_MODULES must include missions (the core every other module builds on)")
    if s.audit_head_export and not s.audit_signing_key:
        raise ConfigError("BRAIN_AUDIT_HEAD_EXPORT needs BRAIN_AUDIT_SIGNING_KEY to sign the heads it publishes")


_current: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, loaded from the environment on first use."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def set_settings(settings: Settings | None) -> None:
    """Replace the process-wide settings (the CLI after --profile; tests)."""
    global _current
    _current = settings
