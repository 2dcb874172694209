"""Settings: the active profile's defaults overridden by environment variables."""

from __future__ import annotations

import dataclasses
import json
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


def _float(low: float, high: float) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is out of range; valid: {low}..{high}")
        return value

    return parse


def _json_object(name: str, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return value


def _str(name: str, raw: str) -> str:
    return raw


def _list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _rate(name: str, raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a rate limit; write e.g. 100/second or 600/minute") from None
    return raw


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
    "db_pool_size": Spec("BRAIN_DB_POOL_SIZE", _int(1, 1000), "Database connections each process keeps open (PostgreSQL)", 10),
    "db_max_overflow": Spec("BRAIN_DB_MAX_OVERFLOW", _int(0, 1000), "Extra connections a process may open beyond the pool under load", 20),
    "db_pool_timeout_s": Spec("BRAIN_DB_POOL_TIMEOUT_S", _int(1, 600), "Longest wait for a free connection before the request fails with 503", 30),
    "db_pool_recycle_s": Spec("BRAIN_DB_POOL_RECYCLE_S", _int(-1, 86400), "Replace connections older than this (-1 = never)", 1800),
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
    "sweep_leader_ttl_s": Spec("BRAIN_SWEEP_LEADER_TTL_S", _int(2, 300), "Lease of the worker node that sweeps; another takes over this long after it dies", 10),
    "redispatch_after_s": Spec("BRAIN_REDISPATCH_AFTER_S", _int(1, 86400), "A queued mission unseen by any worker this long is published again (a duplicate message is a no-op)", 60),
    "max_attempts": Spec("BRAIN_MAX_ATTEMPTS", _int(1, 100), "Runs of one mission before it fails with NR-E005", 3),
    "agent_modules": Spec("BRAIN_AGENT_MODULES", _list, "Extra modules that register agents (comma-separated)", ()),
    "llm_base_url": Spec("BRAIN_LLM_BASE_URL", _str, "OpenAI-compatible API base URL for llm.chat", "http://127.0.0.1:11434/v1"),
    "llm_model": Spec("BRAIN_LLM_MODEL", _str, "Default model for llm.chat", "llama3.2"),
    "llm_api_key": Spec("BRAIN_LLM_API_KEY", _str, "API key for the llm.chat provider", "", secret=True),
    "llm_timeout_s": Spec("BRAIN_LLM_TIMEOUT_S", _int(1, 3600), "HTTP timeout of one llm.chat call", 120),
    "log_level": Spec("BRAIN_LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "Log level", "INFO"),
    # Security: JWT auth, rate limits, headers, secrets, encryption at rest
    "jwt_secret": Spec("BRAIN_JWT_SECRET", _str, "HS256 shared secret for API tokens", "", secret=True),
    "jwt_public_key": Spec("BRAIN_JWT_PUBLIC_KEY", _str, "PEM public key (or a path to one) verifying RS256/ES256 tokens", ""),
    "jwt_jwks_file": Spec("BRAIN_JWT_JWKS_FILE", _str, "JWKS file whose keys (by kid) verify RS256/ES256 tokens", ""),
    "jwt_algorithms": Spec("BRAIN_JWT_ALGORITHMS", _list, "Accepted token algorithms (comma-separated)", ("HS256", "RS256", "ES256")),
    "jwt_leeway_s": Spec("BRAIN_JWT_LEEWAY_S", _int(0, 600), "Clock skew tolerated on exp/nbf/iat", 30),
    "jwt_max_ttl_s": Spec("BRAIN_JWT_MAX_TTL_S", _int(60, 10 * 365 * 86400), "Longest token lifetime accepted (exp minus iat, or minus now)", 30 * 86400),
    "jwt_issuer": Spec("BRAIN_JWT_ISSUER", _str, "Required iss claim (empty = not checked)", ""),
    "jwt_audience": Spec("BRAIN_JWT_AUDIENCE", _str, "Required aud claim (empty = not checked)", ""),
    "rate_limits_enabled": Spec("BRAIN_RATE_LIMITS", _bool, "Rate limits on/off", True),
    "rate_limit_global": Spec("BRAIN_RATE_LIMIT_GLOBAL", _rate, "Tier 1: sustained requests per client IP (averaged over 10 windows)", "100/second"),
    "rate_limit_burst": Spec("BRAIN_RATE_LIMIT_BURST", _int(1, 10**9), "Tier 1: most requests per client IP in one window of BRAIN_RATE_LIMIT_GLOBAL", 200),
    "rate_limit_submit": Spec("BRAIN_RATE_LIMIT_SUBMIT", _rate, "Tier 2: mission submissions per user (or IP)", "600/minute"),
    "rate_limit_tenant": Spec("BRAIN_RATE_LIMIT_TENANT", _rate, "Tier 3: API requests per tenant", "30000/minute"),
    "rate_limit_user": Spec("BRAIN_RATE_LIMIT_USER", _rate, "Tier 3: API requests per user (token sub)", "6000/minute"),
    "trusted_proxies": Spec("BRAIN_TRUSTED_PROXIES", _list, "Proxies (IPs or CIDRs) whose X-Forwarded-For/-Proto is believed", ()),
    "anonymous_admin": Spec("BRAIN_ANONYMOUS_ADMIN", _bool, "With BRAIN_AUTH_REQUIRED off, let anonymous callers use admin operations too", False),
    "cors_origins": Spec("BRAIN_CORS_ORIGINS", _list, "Origins allowed by CORS (empty = CORS closed)", ()),
    "vault_addr": Spec("BRAIN_VAULT_ADDR", _str, "Vault/OpenBao address for vault: references", ""),
    "vault_token": Spec("BRAIN_VAULT_TOKEN", _str, "Vault token (or use AppRole)", "", secret=True),
    "vault_role_id": Spec("BRAIN_VAULT_ROLE_ID", _str, "Vault AppRole role_id", ""),
    "vault_secret_id": Spec("BRAIN_VAULT_SECRET_ID", _str, "Vault AppRole secret_id", "", secret=True),
    "vault_mount": Spec("BRAIN_VAULT_MOUNT", _str, "Mount point of the KV v2 secrets engine", "secret"),
    "vault_namespace": Spec("BRAIN_VAULT_NAMESPACE", _str, "Vault namespace (empty = none)", ""),
    "secrets_ttl_s": Spec("BRAIN_SECRETS_TTL_S", _int(1, 86400), "How long a resolved vault: secret is cached before it is read again", 300),
    "encryption_keys": Spec("BRAIN_ENCRYPTION_KEYS", _str, "Fernet keys for payloads/results at rest (comma-separated, newest first)", "", secret=True),
    "governor_cache_ttl_s": Spec("GOVERNOR_CACHE_TTL_S", _int(1, 7 * 86400), "Lifetime of a cached governor decision in Redis", 300),
    "approval_ttl_s": Spec("APPROVAL_TTL_S", _int(1, 365 * 86400), "A pending approval expires (mission rejected) after this long", 86400),
    "policies_dir": Spec("BRAIN_POLICIES_DIR", _str, "Directory of policy files (empty = the packaged policies/)", ""),
    "audit_signing_key": Spec("BRAIN_AUDIT_SIGNING_KEY", _str, "HMAC key signing published audit chain heads (`brain audit head`)", "", secret=True),
    "audit_head_export": Spec("BRAIN_AUDIT_HEAD_EXPORT", _str, "File (one JSON line per head) or http(s) URL (POST) the sweep leader publishes signed heads to; empty = off", ""),
    "audit_head_export_interval_s": Spec("BRAIN_AUDIT_HEAD_EXPORT_INTERVAL_S", _int(10, 7 * 86400), "How often a signed head is published", 3600),
    # Observability
    "log_format": Spec("BRAIN_LOG_FORMAT", _choice("json", "console"), "Log lines: json (one object per line) or console (human-readable; `brain up` default)", "json"),
    "events_stream_max_s": Spec("BRAIN_EVENTS_STREAM_MAX_S", _int(1, 3600), "How long one /api/events/stream response lasts before the client reconnects with Last-Event-ID", 25),
    "health_check_interval_s": Spec("BRAIN_HEALTH_CHECK_INTERVAL_S", _int(5, 3600), "How often the sweep leader records a health check (the SLA availability data)", 30),
    "flower_address": Spec("BRAIN_FLOWER_ADDRESS", _str, "Address Flower binds to", "127.0.0.1"),
    "flower_port": Spec("BRAIN_FLOWER_PORT", _int(1, 65535), "Port Flower listens on", 5555),
    "flower_user": Spec("BRAIN_FLOWER_USER", _str, "Flower basic-auth user", "admin"),
    "flower_password": Spec("BRAIN_FLOWER_PASSWORD", _str, "Flower basic-auth password (empty: a random one is printed at start)", "", secret=True),
    # NeuroRail (phase itself is NEURORAIL_PHASE above)
    "neurorail_enforcement_percentage": Spec("NEURORAIL_ENFORCEMENT_PERCENTAGE", _int(0, 100), "Share of missions (by stable hash of the id) whose rails enforce in phase 2; the rest observe", 100),
    "neurorail_enable_timeout_enforcement": Spec("NEURORAIL_ENABLE_TIMEOUT_ENFORCEMENT", _bool, "Enforce default time limits in phase 2 (an explicit timeout_s is always enforced)", True),
    "neurorail_enable_budget_enforcement": Spec("NEURORAIL_ENABLE_BUDGET_ENFORCEMENT", _bool, "Enforce tenant budgets in phase 2 (an explicit mission budget is always enforced)", True),
    "neurorail_enable_reflex_system": Spec("NEURORAIL_ENABLE_REFLEX_SYSTEM", _bool, "Circuit breakers on/off", True),
    "neurorail_rollback_error_rate": Spec("NEURORAIL_ROLLBACK_ERROR_RATE", _float(0.0, 1.0), "Rail-caused failure rate in the window that steps the canary back (100→50→10→0)", 0.05),
    "neurorail_rollback_window_s": Spec("NEURORAIL_ROLLBACK_WINDOW_S", _int(10, 86400), "Window of the rollback guard", 300),
    "neurorail_rollback_min_missions": Spec("NEURORAIL_ROLLBACK_MIN_MISSIONS", _int(1, 1000000), "Finished missions needed in the window before the guard acts", 20),
    "neurorail_reflex_failures": Spec("NEURORAIL_REFLEX_FAILURES", _int(1, 1000), "Failures inside the window that open a circuit", 3),
    "neurorail_reflex_window_s": Spec("NEURORAIL_REFLEX_WINDOW_S", _int(1, 86400), "Failure-counting window of a circuit breaker", 300),
    "neurorail_reflex_cooldown_s": Spec("NEURORAIL_REFLEX_COOLDOWN_S", _int(1, 86400), "How long an open circuit stays open before one probe", 300),
    "neurorail_reflex_scope": Spec("NEURORAIL_REFLEX_SCOPE", _choice("agent", "tenant_agent"), "One breaker per agent, or per tenant and agent", "agent"),
    "neurorail_reflex_on_open": Spec("NEURORAIL_REFLEX_ON_OPEN", _choice("defer", "fail"), "While open: defer missions to the end of the cooldown, or fail them with NR-E003", "defer"),
    "neurorail_max_retries": Spec("NEURORAIL_MAX_RETRIES", _int(0, 100), "Default retries of a retryable agent error (mission option max_retries overrides)", 2),
    "neurorail_retry_backoff_s": Spec("NEURORAIL_RETRY_BACKOFF_S", _float(0.0, 3600.0), "First retry delay; doubles each attempt, with jitter", 1.0),
    "neurorail_retry_backoff_max_s": Spec("NEURORAIL_RETRY_BACKOFF_MAX_S", _float(0.0, 86400.0), "Largest retry delay", 300.0),
    "neurorail_budget_estimate_tokens": Spec("NEURORAIL_BUDGET_ESTIMATE_TOKENS", _int(0, 10**12), "Tokens reserved up front for a mission without its own max_tokens", 1000),
    "neurorail_budget_estimate_cost_usd": Spec("NEURORAIL_BUDGET_ESTIMATE_COST_USD", _float(0.0, 1e9), "Cost reserved up front for a mission without its own max_cost_usd", 0.01),
    "neurorail_tenant_tokens_per_day": Spec("NEURORAIL_TENANT_TOKENS_PER_DAY", _int(0, 10**15), "Tokens per tenant per UTC day (0 = unlimited)", 0),
    "neurorail_tenant_cost_usd_per_day": Spec("NEURORAIL_TENANT_COST_USD_PER_DAY", _float(0.0, 1e12), "USD per tenant per UTC day (0 = unlimited)", 0.0),
    "neurorail_tenant_tokens_per_month": Spec("NEURORAIL_TENANT_TOKENS_PER_MONTH", _int(0, 10**15), "Tokens per tenant per UTC month (0 = unlimited)", 0),
    "neurorail_tenant_cost_usd_per_month": Spec("NEURORAIL_TENANT_COST_USD_PER_MONTH", _float(0.0, 1e12), "USD per tenant per UTC month (0 = unlimited)", 0.0),
    "neurorail_llm_prices": Spec("NEURORAIL_LLM_PRICES", _json_object, "llm.chat price table: {model: {prompt_per_1k, completion_per_1k}} in USD", {}),
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
    db_pool_size: int
    db_max_overflow: int
    db_pool_timeout_s: int
    db_pool_recycle_s: int
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
    sweep_leader_ttl_s: int
    redispatch_after_s: int
    max_attempts: int
    agent_modules: tuple[str, ...]
    llm_base_url: str
    llm_model: str
    llm_api_key: str
    llm_timeout_s: int
    log_level: str
    jwt_secret: str
    jwt_public_key: str
    jwt_jwks_file: str
    jwt_algorithms: tuple[str, ...]
    jwt_leeway_s: int
    jwt_max_ttl_s: int
    jwt_issuer: str
    jwt_audience: str
    rate_limits_enabled: bool
    rate_limit_global: str
    rate_limit_burst: int
    rate_limit_submit: str
    rate_limit_tenant: str
    rate_limit_user: str
    trusted_proxies: tuple[str, ...]
    anonymous_admin: bool
    cors_origins: tuple[str, ...]
    vault_addr: str
    vault_token: str
    vault_role_id: str
    vault_secret_id: str
    vault_mount: str
    vault_namespace: str
    secrets_ttl_s: int
    encryption_keys: str
    governor_cache_ttl_s: int
    approval_ttl_s: int
    policies_dir: str
    audit_signing_key: str
    audit_head_export: str
    audit_head_export_interval_s: int
    log_format: str
    events_stream_max_s: int
    health_check_interval_s: int
    flower_address: str
    flower_port: int
    flower_user: str
    flower_password: str
    neurorail_enforcement_percentage: int
    neurorail_enable_timeout_enforcement: bool
    neurorail_enable_budget_enforcement: bool
    neurorail_enable_reflex_system: bool
    neurorail_rollback_error_rate: float
    neurorail_rollback_window_s: int
    neurorail_rollback_min_missions: int
    neurorail_reflex_failures: int
    neurorail_reflex_window_s: int
    neurorail_reflex_cooldown_s: int
    neurorail_reflex_scope: str
    neurorail_reflex_on_open: str
    neurorail_max_retries: int
    neurorail_retry_backoff_s: float
    neurorail_retry_backoff_max_s: float
    neurorail_budget_estimate_tokens: int
    neurorail_budget_estimate_cost_usd: float
    neurorail_tenant_tokens_per_day: int
    neurorail_tenant_cost_usd_per_day: float
    neurorail_tenant_tokens_per_month: int
    neurorail_tenant_cost_usd_per_month: float
    neurorail_llm_prices: Any
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
        if raw and raw.startswith("vault:"):
            from brain.secrets import resolve_reference  # a `vault:<path>#<key>` setting

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
        values["visibility_timeout_s"] = values["max_timeout_s"] + values["time_limit_grace_s"] + 300
    settings = Settings(**values)
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
    if s.audit_head_export and not s.audit_signing_key:
        raise ConfigError("BRAIN_AUDIT_HEAD_EXPORT needs BRAIN_AUDIT_SIGNING_KEY to sign the heads it publishes")


def _shown_default(spec: Spec) -> str:
    value = spec.default
    if value is None:
        return "profile"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        value = ",".join(value)
    if value == "" or value == ():
        return "(empty)"
    return f"`{json.dumps(value) if isinstance(value, dict) else value}`"


def settings_table() -> str:
    """The README's table of environment variables, generated from SPECS (`brain settings docs`)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in SPECS.values():
        lines.append(f"| `{spec.env}` | {_shown_default(spec)} | {spec.doc}{' (secret)' if spec.secret else ''} |")
    return "\n".join(lines)


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
