"""Every setting, declared once: its field, type, variable, parser, default, meaning, section and secrecy.

`Settings` is the frozen object a process reads; `SPECS` (derived from it, plus what the
modules in DECLARING_MODULES add with `declare()`) drives loading, `brain profile show` and
the README table (`brain settings docs`). Adding a setting is one line: in the class below,
under its section, or - for a rail's own settings - in the rail's `declare()` call.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brain.config.parsers import (
    _bool,
    _choice,
    _float,
    _int,
    _json_object,
    _list,
    _modules,
    _rate,
    _str,
)


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its env var, parser, fallback default (None: the profile's) and docs."""

    env: str
    parse: Callable[[str, str], Any]
    doc: str
    default: Any = None
    secret: bool = False
    section: str = ""


_section = ""


def section(name: str) -> None:
    """Inside the Settings body: the settings declared after this belong to section `name`."""
    global _section
    _section = name


def setting(env: str, parse: Callable[[str, str], Any], doc: str, default: Any = None, *,
            secret: bool = False) -> Any:
    """One setting's declaration (a dataclass field carrying its Spec)."""
    spec = Spec(env, parse, doc, default, secret, _section)
    return field(metadata={"spec": spec})


def declare(section_name: str, **declarations: Any) -> None:
    """Settings declared by the module that owns them (a rail), as `name=setting(...)`.

    They are read like the rest (`settings.<name>`); the module must be reachable from
    DECLARING_MODULES so that loading and the README table see them.
    """
    for name, declared in declarations.items():
        if name in SPECS:
            raise ValueError(f"setting {name!r} is declared twice")
        SPECS[name] = dataclasses.replace(declared.metadata["spec"], section=section_name)


# Imported before settings are loaded or documented: the rails declare their own settings.
DECLARING_MODULES = (
    "brain.rails.defaults",
    "brain.agents.provider_quota",
    "brain.tenancy.tenant_metrics",
    "brain.scheduling.policy",
)


def all_specs() -> dict[str, Spec]:
    """Every declaration: the Settings fields and those of DECLARING_MODULES."""
    for module in DECLARING_MODULES:
        importlib.import_module(module)  # by name: those modules import this one
    return SPECS


@dataclass(frozen=True)
class Settings:
    """Every effective setting of one process; frozen once loaded. Defaults of None come from the profile."""

    profile: str
    section("core")
    data_dir: str = setting("BRAIN_DATA_DIR", _str, "Directory for the SQLite file, embedded Redis and metrics files", "~/.brain")
    modules: tuple[str, ...] = setting("BRAIN_MODULES", _modules, "Enabled modules (comma-separated)")
    multi_tenancy: bool = setting("BRAIN_MULTI_TENANCY", _bool, "Multi-tenant mode; off: the token's tenant claim is ignored and every caller is in tenant `default`")
    agent_modules: tuple[str, ...] = setting("BRAIN_AGENT_MODULES", _list, "Extra modules that register agents (comma-separated)", ())
    log_level: str = setting("BRAIN_LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "Log level", "INFO")
    log_format: str = setting("BRAIN_LOG_FORMAT", _choice("json", "console"), "Log lines: json (one object per line) or console (human-readable; `brain up` default)", "json")
    section("database")
    database_url: str = setting("BRAIN_DATABASE_URL", _str, "SQLAlchemy database URL (sqlite:// or postgresql://)", secret=True)
    db_pool_size: int = setting("BRAIN_DB_POOL_SIZE", _int(1, 1000), "Database connections each process keeps open (PostgreSQL)", 10)
    db_max_overflow: int = setting("BRAIN_DB_MAX_OVERFLOW", _int(0, 1000), "Extra connections a process may open beyond the pool under load", 20)
    db_pool_timeout_s: int = setting("BRAIN_DB_POOL_TIMEOUT_S", _int(1, 600), "Longest wait for a free connection before the request fails with 503", 30)
    db_pool_recycle_s: int = setting("BRAIN_DB_POOL_RECYCLE_S", _int(-1, 86400), "Replace connections older than this (-1 = never)", 1800)
    section("redis")
    redis_url: str = setting("BRAIN_REDIS_URL", _str, "Redis for shared state (redis://, rediss://, unix://, sentinel://h:p,h:p/db?master_name=N, or 'embedded')", secret=True)
    broker_url: str = setting("BRAIN_BROKER_URL", _str, "Celery broker URL (redis://, sentinel://…); empty means the Redis above", secret=True)
    redis_max_connections: int = setting("BRAIN_REDIS_MAX_CONNECTIONS", _int(1, 100000), "Shared-state Redis connections one process opens at most; further callers wait up to 5 s for a free one", 100)
    visibility_timeout_s: int = setting("BRAIN_VISIBILITY_TIMEOUT_S", _int(0, 7 * 86400), "Broker visibility timeout (0 = max timeout + grace + 300 s)", 0)
    section("api")
    api_host: str = setting("BRAIN_API_HOST", _str, "Address the API binds to", "127.0.0.1")
    api_port: int = setting("BRAIN_API_PORT", _int(0, 65535), "Port the API listens on", 8000)
    api_workers: int = setting("BRAIN_API_WORKERS", _int(1, 64), "gunicorn worker processes for the API", 2)
    api_threads: int = setting("BRAIN_API_THREADS", _int(1, 64), "Threads per gunicorn worker", 4)
    max_body_bytes: int = setting("BRAIN_MAX_BODY_BYTES", _int(1024, 64 * 1024 * 1024), "Largest accepted request body", 1024 * 1024)
    events_stream_max_s: int = setting("BRAIN_EVENTS_STREAM_MAX_S", _int(1, 3600), "How long one /api/events/stream response lasts before the client reconnects with Last-Event-ID", 25)
    cors_origins: tuple[str, ...] = setting("BRAIN_CORS_ORIGINS", _list, "Origins allowed by CORS (empty = CORS closed)", ())
    trusted_proxies: tuple[str, ...] = setting("BRAIN_TRUSTED_PROXIES", _list, "Proxies (IPs or CIDRs) whose X-Forwarded-For/-Proto is believed", ())
    section("workers")
    worker_count: int = setting("MISSION_WORKER_COUNT", _int(1, 512), "Default worker concurrency (celery -c overrides)")
    worker_metrics_host: str = setting("BRAIN_WORKER_METRICS_HOST", _str, "Address each worker node's metrics endpoint binds to", "127.0.0.1")
    worker_metrics_port: int = setting("BRAIN_WORKER_METRICS_PORT", _int(0, 65535), "Prometheus port of each worker node (0 = off)", 9808)
    lease_ttl_s: int = setting("BRAIN_LEASE_TTL_S", _int(2, 3600), "A running mission's liveness lease; a worker silent this long is lost", 30)
    sweep_interval_s: int = setting("BRAIN_SWEEP_INTERVAL_S", _int(1, 3600), "How often the sweeper runs", 10)
    sweep_leader_ttl_s: int = setting("BRAIN_SWEEP_LEADER_TTL_S", _int(2, 300), "Lease of the worker node that sweeps; another takes over this long after it dies", 10)
    redispatch_after_s: int = setting("BRAIN_REDISPATCH_AFTER_S", _int(1, 86400), "A queued mission unseen by any worker this long is published again (a duplicate message is a no-op)", 60)
    max_attempts: int = setting("BRAIN_MAX_ATTEMPTS", _int(1, 100), "Runs of one mission before it fails with NR-E005", 3)
    health_check_interval_s: int = setting("BRAIN_HEALTH_CHECK_INTERVAL_S", _int(5, 3600), "How often the sweep leader records a health check (the SLA availability data)", 30)
    section("time limits")
    max_timeout_s: int = setting("BRAIN_MAX_TIMEOUT_S", _int(1, 86400), "Largest timeout_s a mission may ask for", 86400)
    default_timeout_s: int = setting("BRAIN_DEFAULT_TIMEOUT_S", _int(1, 86400), "Time limit of a mission that names none and whose agent has none", 3600)
    time_limit_grace_s: int = setting("BRAIN_TIME_LIMIT_GRACE_S", _int(1, 3600), "Seconds between the soft and the hard time limit", 10)
    section("llm")
    llm_base_url: str = setting("BRAIN_LLM_BASE_URL", _str, "OpenAI-compatible API base URL for llm.chat", "http://127.0.0.1:11434/v1")
    llm_model: str = setting("BRAIN_LLM_MODEL", _str, "Default model for llm.chat", "llama3.2")
    llm_api_key: str = setting("BRAIN_LLM_API_KEY", _str, "API key for the llm.chat provider", "", secret=True)
    llm_timeout_s: int = setting("BRAIN_LLM_TIMEOUT_S", _int(1, 3600), "HTTP timeout of one llm.chat call (for a stream: between two chunks)", 120)
    llm_pool_size: int = setting("BRAIN_LLM_POOL_SIZE", _int(1, 100000), "Keep-alive connections to the provider one worker process keeps open (a gevent node: one per mission in flight)", 1000)
    section("auth")
    auth_required: bool = setting("BRAIN_AUTH_REQUIRED", _bool, "Require a JWT on every API call")
    anonymous_admin: bool = setting("BRAIN_ANONYMOUS_ADMIN", _bool, "With BRAIN_AUTH_REQUIRED off, let anonymous callers use admin operations too", False)
    jwt_secret: str = setting("BRAIN_JWT_SECRET", _str, "HS256 shared secret for API tokens", "", secret=True)
    jwt_public_key: str = setting("BRAIN_JWT_PUBLIC_KEY", _str, "PEM public key (or a path to one) verifying RS256/ES256 tokens", "")
    jwt_jwks_file: str = setting("BRAIN_JWT_JWKS_FILE", _str, "JWKS file whose keys (by kid) verify RS256/ES256 tokens", "")
    jwt_algorithms: tuple[str, ...] = setting("BRAIN_JWT_ALGORITHMS", _list, "Accepted token algorithms (comma-separated)", ("HS256", "RS256", "ES256"))
    jwt_leeway_s: int = setting("BRAIN_JWT_LEEWAY_S", _int(0, 600), "Clock skew tolerated on exp/nbf/iat", 30)
    jwt_max_ttl_s: int = setting("BRAIN_JWT_MAX_TTL_S", _int(60, 10 * 365 * 86400), "Longest token lifetime accepted (exp minus iat, or minus now)", 30 * 86400)
    jwt_issuer: str = setting("BRAIN_JWT_ISSUER", _str, "Required iss claim (empty = not checked)", "")
    jwt_audience: str = setting("BRAIN_JWT_AUDIENCE", _str, "Required aud claim (empty = not checked)", "")
    section("rate limits")
    rate_limits_enabled: bool = setting("BRAIN_RATE_LIMITS", _bool, "Rate limits on/off", True)
    rate_limit_global: str = setting("BRAIN_RATE_LIMIT_GLOBAL", _rate, "Tier 1: sustained requests per client IP (averaged over 10 windows)", "100/second")
    rate_limit_burst: int = setting("BRAIN_RATE_LIMIT_BURST", _int(1, 10**9), "Tier 1: most requests per client IP in one window of BRAIN_RATE_LIMIT_GLOBAL", 200)
    rate_limit_submit: str = setting("BRAIN_RATE_LIMIT_SUBMIT", _rate, "Tier 2: mission submissions per user (or IP)", "600/minute")
    rate_limit_tenant: str = setting("BRAIN_RATE_LIMIT_TENANT", _rate, "Tier 3: API requests per tenant", "30000/minute")
    rate_limit_user: str = setting("BRAIN_RATE_LIMIT_USER", _rate, "Tier 3: API requests per user (token sub)", "6000/minute")
    section("secrets")
    secrets_backend: str = setting("BRAIN_SECRETS_BACKEND", _choice("env", "vault"), "Where secrets come from: env or vault")
    vault_addr: str = setting("BRAIN_VAULT_ADDR", _str, "Vault/OpenBao address for vault: references", "")
    vault_token: str = setting("BRAIN_VAULT_TOKEN", _str, "Vault token (or use AppRole)", "", secret=True)
    vault_role_id: str = setting("BRAIN_VAULT_ROLE_ID", _str, "Vault AppRole role_id", "")
    vault_secret_id: str = setting("BRAIN_VAULT_SECRET_ID", _str, "Vault AppRole secret_id", "", secret=True)
    vault_mount: str = setting("BRAIN_VAULT_MOUNT", _str, "Mount point of the KV v2 secrets engine", "secret")
    vault_namespace: str = setting("BRAIN_VAULT_NAMESPACE", _str, "Vault namespace (empty = none)", "")
    secrets_ttl_s: int = setting("BRAIN_SECRETS_TTL_S", _int(1, 86400), "How long a resolved vault: secret is cached before it is read again", 300)
    encrypt_payloads: bool = setting("BRAIN_ENCRYPT_PAYLOADS", _bool, "Encrypt mission payloads and results at rest")
    encryption_keys: str = setting("BRAIN_ENCRYPTION_KEYS", _str, "Fernet keys for payloads/results at rest (comma-separated, newest first)", "", secret=True)
    section("governance")
    governance_enabled: bool = setting("BRAIN_GOVERNANCE", _bool, "Governor and policies on/off")
    governor_cache_ttl_s: int = setting("GOVERNOR_CACHE_TTL_S", _int(1, 7 * 86400), "Lifetime of a cached governor decision in Redis", 300)
    approval_ttl_s: int = setting("APPROVAL_TTL_S", _int(1, 365 * 86400), "A pending approval expires (mission rejected) after this long", 86400)
    policies_dir: str = setting("BRAIN_POLICIES_DIR", _str, "Directory of policy files (empty = the packaged policies/)", "")
    section("audit")
    audit_signing_key: str = setting("BRAIN_AUDIT_SIGNING_KEY", _str, "HMAC key signing published audit chain heads (`brain audit head`)", "", secret=True)
    audit_head_export: str = setting("BRAIN_AUDIT_HEAD_EXPORT", _str, "File (one JSON line per head) or http(s) URL (POST) the sweep leader publishes signed heads to; empty = off", "")
    audit_head_export_interval_s: int = setting("BRAIN_AUDIT_HEAD_EXPORT_INTERVAL_S", _int(10, 7 * 86400), "How often a signed head is published", 3600)
    section("flower")
    flower_address: str = setting("BRAIN_FLOWER_ADDRESS", _str, "Address Flower binds to", "127.0.0.1")
    flower_port: int = setting("BRAIN_FLOWER_PORT", _int(1, 65535), "Port Flower listens on", 5555)
    flower_user: str = setting("BRAIN_FLOWER_USER", _str, "Flower basic-auth user", "admin")
    flower_password: str = setting("BRAIN_FLOWER_PASSWORD", _str, "Flower basic-auth password (empty: a random one is printed at start)", "", secret=True)
    section("neurorail")
    neurorail_phase: int = setting("NEURORAIL_PHASE", _int(0, 2), "NeuroRail phase: 0 off, 1 observe, 2 enforce")
    neurorail_enforcement_percentage: int = setting("NEURORAIL_ENFORCEMENT_PERCENTAGE", _int(0, 100), "Share of missions (by stable hash of the id) whose rails enforce in phase 2; the rest observe", 100)
    neurorail_rollback_error_rate: float = setting("NEURORAIL_ROLLBACK_ERROR_RATE", _float(0.0, 1.0), "Rail-caused failure rate in the window that steps the canary back (100→50→10→0)", 0.05)
    neurorail_rollback_window_s: int = setting("NEURORAIL_ROLLBACK_WINDOW_S", _int(10, 86400), "Window of the rollback guard", 300)
    neurorail_rollback_min_missions: int = setting("NEURORAIL_ROLLBACK_MIN_MISSIONS", _int(1, 1000000), "Finished missions needed in the window before the guard acts", 20)
    neurorail_llm_prices: Any = setting("NEURORAIL_LLM_PRICES", _json_object, "llm.chat price table: {model: {prompt_per_1k, completion_per_1k}} in USD", {})
    embedded_redis: bool = field(default=False)
    # Values of the settings declared outside this class (declare()), read as attributes.
    declared: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        declared = self.__dict__.get("declared")  # absent while unpickling
        if declared is not None and name in declared:
            return declared[name]
        raise AttributeError(f"{type(self).__name__!r} has no setting {name!r}")

    @property
    def redis_socket(self) -> str:
        """Unix socket of the embedded Redis (minimal profile)."""
        return str(Path(self.data_dir) / "redis.sock")

    def masked(self) -> dict[str, Any]:
        """All settings as a dict, secrets masked (for `brain profile show`, /info)."""
        out: dict[str, Any] = {}
        names = [f.name for f in dataclasses.fields(self) if f.name != "declared"] + list(self.declared)
        for name in names:
            value = getattr(self, name)
            spec = SPECS.get(name)
            if spec and spec.secret:
                value = mask(value)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


SPECS: dict[str, Spec] = {f.name: f.metadata["spec"] for f in dataclasses.fields(Settings) if "spec" in f.metadata}


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
