"""Settings: the active profile's defaults overridden by environment variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brain.errors import ConfigError
from brain.profiles import ALL_MODULES, DEFAULT_PROFILE, PROFILE_NAMES, PROFILES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use one of: true, false")


def _int(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is out of range; valid: {low}..{high}")
        return value

    return parse


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in choices:
            raise ConfigError(f"{name}={raw!r} is not valid; valid choices: {', '.join(choices)}")
        return raw

    return parse


def _modules(name: str, raw: str) -> tuple[str, ...]:
    mods = tuple(m.strip() for m in raw.split(",") if m.strip())
    unknown = [m for m in mods if m not in ALL_MODULES]
    if unknown:
        raise ConfigError(
            f"{name} names unknown module(s) {', '.join(unknown)}; valid: {', '.join(ALL_MODULES)}"
        )
    return mods


def _str(name: str, raw: str) -> str:
    return raw


def _list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its env var, parser, fallback default and docs."""

    env: str
    parse: Callable[[str, str], Any]
    doc: str
    default: Any = None
    secret: bool = False


# Settings whose default comes from the profile have default=None here.
SPECS: dict[str, Spec] = {
    "data_dir": Spec("BRAIN_DATA_DIR", _str, "Directory for the SQLite file, embedded Redis and metrics files", "~/.brain"),
    "modules": Spec("BRAIN_MODULES", _modules, "Enabled modules (comma-separated)"),
    "governance_enabled": Spec("BRAIN_GOVERNANCE", _bool, "Governor and policies on/off"),
    "neurorail_phase": Spec("NEURORAIL_PHASE", _int(0, 2), "NeuroRail phase: 0 off, 1 observe, 2 enforce"),
    "database_url": Spec("BRAIN_DATABASE_URL", _str, "SQLAlchemy database URL (sqlite:// or postgresql://)", secret=True),
    "redis_url": Spec("BRAIN_REDIS_URL", _str, "Redis for shared state (redis://, rediss://, unix://, or 'embedded')", secret=True),
    "broker_url": Spec("BRAIN_BROKER_URL", _str, "Celery broker URL; empty means the Redis above", secret=True),
    "worker_count": Spec("MISSION_WORKER_COUNT", _int(1, 512), "Default worker concurrency (celery -c overrides)"),
    "multi_tenancy": Spec("BRAIN_MULTI_TENANCY", _bool, "Multi-tenant mode"),
    "secrets_backend": Spec("BRAIN_SECRETS_BACKEND", _choice("env", "vault"), "Where secrets come from: env or vault"),
    "auth_required": Spec("BRAIN_AUTH_REQUIRED", _bool, "Require a JWT on every API call"),
    "encrypt_payloads": Spec("BRAIN_ENCRYPT_PAYLOADS", _bool, "Encrypt mission payloads and results at rest"),
    "api_host": Spec("BRAIN_API_HOST", _str, "Address the API binds to", "127.0.0.1"),
    "api_port": Spec("BRAIN_API_PORT", _int(0, 65535), "Port the API listens on", 8000),
    "api_workers": Spec("BRAIN_API_WORKERS", _int(1, 64), "gunicorn worker processes for the API", 2),
    "api_threads": Spec("BRAIN_API_THREADS", _int(1, 64), "Threads per gunicorn worker", 4),
    "worker_metrics_host": Spec("BRAIN_WORKER_METRICS_HOST", _str, "Address each worker node's metrics endpoint binds to", "127.0.0.1"),
    "worker_metrics_port": Spec("BRAIN_WORKER_METRICS_PORT", _int(0, 65535), "Prometheus port of each worker node (0 = off)", 9808),
    "max_body_bytes": Spec("BRAIN_MAX_BODY_BYTES", _int(1024, 64 * 1024 * 1024), "Largest accepted request body", 1024 * 1024),
    "max_timeout_s": Spec("BRAIN_MAX_TIMEOUT_S", _int(1, 86400), "Largest timeout_s a mission may ask for", 86400),
    "default_timeout_s": Spec("BRAIN_DEFAULT_TIMEOUT_S", _int(1, 86400), "Time limit of a mission that names none and whose agent has none", 3600),
    "time_limit_grace_s": Spec("BRAIN_TIME_LIMIT_GRACE_S", _int(1, 3600), "Seconds between the soft and the hard time limit", 10),
    "visibility_timeout_s": Spec("BRAIN_VISIBILITY_TIMEOUT_S", _int(0, 7 * 86400), "Broker visibility timeout (0 = max timeout + grace + 300 s)", 0),
    "lease_ttl_s": Spec("BRAIN_LEASE_TTL_S", _int(2, 3600), "A running mission's liveness lease; a worker silent this long is lost", 30),
    "sweep_interval_s": Spec("BRAIN_SWEEP_INTERVAL_S", _int(1, 3600), "How often the sweeper runs", 10),
    "redispatch_after_s": Spec("BRAIN_REDISPATCH_AFTER_S", _int(1, 86400), "A queued mission unseen by any worker this long is published again", 300),
    "max_attempts": Spec("BRAIN_MAX_ATTEMPTS", _int(1, 100), "Runs of one mission before it fails with NR-E005", 3),
    "agent_modules": Spec("BRAIN_AGENT_MODULES", _list, "Extra modules that register agents (comma-separated)", ()),
    "llm_base_url": Spec("BRAIN_LLM_BASE_URL", _str, "OpenAI-compatible API base URL for llm.chat", "http://127.0.0.1:11434/v1"),
    "llm_model": Spec("BRAIN_LLM_MODEL", _str, "Default model for llm.chat", "llama3.2"),
    "llm_api_key": Spec("BRAIN_LLM_API_KEY", _str, "API key for the llm.chat provider", "", secret=True),
    "llm_timeout_s": Spec("BRAIN_LLM_TIMEOUT_S", _int(1, 3600), "HTTP timeout of one llm.chat call", 120),
    "log_level": Spec("BRAIN_LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "Log level", "INFO"),
}


@dataclass(frozen=True)
class Settings:
    """Every effective setting of one process; frozen once loaded."""

    profile: str
    data_dir: str
    modules: tuple[str, ...]
    governance_enabled: bool
    neurorail_phase: int
    database_url: str
    redis_url: str
    broker_url: str
    worker_count: int
    multi_tenancy: bool
    secrets_backend: str
    auth_required: bool
    encrypt_payloads: bool
    api_host: str
    api_port: int
    api_workers: int
    api_threads: int
    worker_metrics_host: str
    worker_metrics_port: int
    max_body_bytes: int
    max_timeout_s: int
    default_timeout_s: int
    time_limit_grace_s: int
    visibility_timeout_s: int
    lease_ttl_s: int
    sweep_interval_s: int
    redispatch_after_s: int
    max_attempts: int
    agent_modules: tuple[str, ...]
    llm_base_url: str
    llm_model: str
    llm_api_key: str
    llm_timeout_s: int
    log_level: str
    embedded_redis: bool = field(default=False)

    @property
    def redis_socket(self) -> str:
        """Unix socket of the embedded Redis (minimal profile)."""
        return str(Path(self.data_dir) / "redis.sock")

    def masked(self) -> dict[str, Any]:
        """All settings as a dict, secrets masked (for `brain profile show`, /info)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            spec = SPECS.get(f.name)
            if spec and spec.secret:
                value = mask(value)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def mask(value: str) -> str:
    """Hide passwords and keys: URLs keep scheme/host, plain secrets become ****."""
    if not value:
        return value
    if "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
            return parts._replace(netloc=netloc).geturl()
        return value
    return "****"


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{name}={mask(url)!r} is malformed ({exc})") from None
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{name}={mask(url)!r} is malformed: scheme must be one of {', '.join(schemes)}"
        )
    if parts.scheme in ("postgresql", "postgresql+psycopg2", "postgres", "redis", "rediss") and not parts.hostname:
        raise ConfigError(f"{name}={mask(url)!r} is malformed: no host")


def load_settings(env: Mapping[str, str] | None = None, profile: str | None = None) -> Settings:
    """Build Settings from `env` (default os.environ) on top of the chosen profile."""
    env = os.environ if env is None else env
    name = profile or env.get("BRAIN_PROFILE", DEFAULT_PROFILE) or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ConfigError(
            f"unknown profile {name!r} (BRAIN_PROFILE); valid choices: {', '.join(PROFILE_NAMES)}"
        )
    values: dict[str, Any] = {"profile": name}
    for key, spec in SPECS.items():
        raw = env.get(spec.env)
        if raw is not None and raw != "":
            values[key] = spec.parse(spec.env, raw)
        elif spec.default is not None:
            values[key] = spec.default
        else:
            values[key] = PROFILES[name][key]
    data_dir = os.path.abspath(os.path.expanduser(values["data_dir"]))
    values["data_dir"] = data_dir
    values["database_url"] = values["database_url"].format(data_dir=data_dir)
    if values["redis_url"] == "embedded":
        values["embedded_redis"] = True
        values["redis_url"] = f"unix://{Path(data_dir) / 'redis.sock'}"
    if not values["broker_url"]:
        values["broker_url"] = _broker_from_redis(values["redis_url"])
    if not env.get("BRAIN_DEFAULT_TIMEOUT_S"):
        values["default_timeout_s"] = min(values["default_timeout_s"], values["max_timeout_s"])
    if not values["visibility_timeout_s"]:
        values["visibility_timeout_s"] = values["max_timeout_s"] + values["time_limit_grace_s"] + 300
    settings = Settings(**values)
    _validate(settings)
    return settings


def _broker_from_redis(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://"):]
    return redis_url


def _validate(s: Settings) -> None:
    _check_url("BRAIN_DATABASE_URL", s.database_url, ("sqlite", "postgresql", "postgresql+psycopg2", "postgres"))
    _check_url("BRAIN_REDIS_URL", s.redis_url, ("redis", "rediss", "unix"))
    _check_url("BRAIN_BROKER_URL", s.broker_url, ("redis", "rediss", "redis+socket"))
    hard_limit = s.max_timeout_s + s.time_limit_grace_s
    if s.visibility_timeout_s <= hard_limit:
        raise ConfigError(
            f"BRAIN_VISIBILITY_TIMEOUT_S={s.visibility_timeout_s} must exceed the largest hard "
            f"time limit ({hard_limit} s = BRAIN_MAX_TIMEOUT_S + BRAIN_TIME_LIMIT_GRACE_S)"
        )
    if s.default_timeout_s > s.max_timeout_s:
        raise ConfigError("BRAIN_DEFAULT_TIMEOUT_S must not exceed BRAIN_MAX_TIMEOUT_S")


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
