"""Secrets: `vault:<path>#<key>` setting references resolved from Vault/OpenBao KV v2, cached with a TTL."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brain.errors import ConfigError
from brain.fork_safe import ForkSafeLock

log = logging.getLogger("brain.secrets")

PREFIX = "vault:"

# setting name -> its reference, recorded when settings are loaded, so that code reading a
# rotating secret (JWT key, encryption keys) can re-read it after the TTL.
REFERENCES: dict[str, str] = {}


def _hvac() -> Any:
    # Imported on first use: hvac (and requests) add ~90 ms to every process, and only a
    # deployment with vault: references needs them.
    import hvac
    import hvac.exceptions

    return hvac


@dataclass(frozen=True)
class VaultConfig:
    """How to reach Vault; read from the environment (these settings cannot be references)."""

    addr: str
    token: str = ""
    role_id: str = ""
    secret_id: str = ""
    mount: str = "secret"
    namespace: str = ""
    ttl_s: int = 300

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> VaultConfig:
        ttl = env.get("BRAIN_SECRETS_TTL_S") or "300"
        return cls(
            addr=env.get("BRAIN_VAULT_ADDR", ""),
            token=env.get("BRAIN_VAULT_TOKEN", ""),
            role_id=env.get("BRAIN_VAULT_ROLE_ID", ""),
            secret_id=env.get("BRAIN_VAULT_SECRET_ID", ""),
            mount=env.get("BRAIN_VAULT_MOUNT") or "secret",
            namespace=env.get("BRAIN_VAULT_NAMESPACE", ""),
            ttl_s=int(ttl) if ttl.isdigit() else 300,
        )


def parse_reference(ref: str) -> tuple[str, str]:
    """`vault:<path>#<key>` → (path, key)."""
    body = ref[len(PREFIX) :]
    path, sep, key = body.partition("#")
    if not path or not sep or not key:
        raise ConfigError(f"{ref!r} is not a secret reference; write vault:<path>#<key>")
    return path.strip("/"), key


class VaultBackend:
    """Reads KV v2 secrets with hvac; logs in with a token or AppRole (re-login on expiry)."""

    def __init__(self, config: VaultConfig) -> None:
        if not config.addr:
            raise ConfigError("a vault: secret reference needs BRAIN_VAULT_ADDR")
        if not config.token and not (config.role_id and config.secret_id):
            raise ConfigError("Vault needs BRAIN_VAULT_TOKEN or BRAIN_VAULT_ROLE_ID + BRAIN_VAULT_SECRET_ID")
        self.config = config
        self._client: Any = None

    def _login(self) -> Any:
        hvac = _hvac()
        cfg = self.config
        client = hvac.Client(url=cfg.addr, namespace=cfg.namespace or None, timeout=5)
        if cfg.token:
            client.token = cfg.token
        else:
            client.auth.approle.login(role_id=cfg.role_id, secret_id=cfg.secret_id)
        return client

    def read(self, path: str) -> dict[str, Any]:
        hvac = _hvac()
        for attempt in (1, 2):
            if self._client is None:
                self._client = self._login()
            try:
                resp = self._client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=self.config.mount, raise_on_deleted_version=True
                )
                return resp["data"]["data"]
            except hvac.exceptions.Forbidden:
                # An AppRole token may have expired: log in again once.
                self._client = None
                if attempt == 2 or self.config.token:
                    raise
        raise AssertionError("unreachable")


class SecretCache:
    """Resolved references with a TTL; a failed refresh keeps serving the last good value."""

    def __init__(self, backend: VaultBackend, ttl_s: int) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self._lock = ForkSafeLock()
        self._values: dict[str, tuple[str, float]] = {}

    def get(self, ref: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._values.get(ref)
        if cached and cached[1] > now:
            return cached[0]
        try:
            value = self._fetch(ref)
        except Exception as exc:
            if cached:
                log.warning("refreshing secret %s failed (%s); keeping the cached value", ref, type(exc).__name__)
                return cached[0]
            raise
        with self._lock:
            self._values[ref] = (value, now + self.ttl_s)
        return value

    def _fetch(self, ref: str) -> str:
        path, key = parse_reference(ref)
        data = self.backend.read(path)
        if key not in data:
            raise ConfigError(f"secret {ref!r}: Vault path {path!r} has no key {key!r}")
        return str(data[key])


_lock = ForkSafeLock()
_caches: dict[VaultConfig, SecretCache] = {}


def cache_for(config: VaultConfig) -> SecretCache:
    with _lock:
        if config not in _caches:
            _caches[config] = SecretCache(VaultBackend(config), config.ttl_s)
        return _caches[config]


def resolve_reference(setting: str, env_name: str, ref: str, env: Mapping[str, str]) -> str:
    """Resolve one setting's reference at start-up; Vault unreachable → one clear ConfigError."""
    config = VaultConfig.from_env(env)
    try:
        value = cache_for(config).get(ref)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is a start-up error
        raise ConfigError(
            f"cannot read {env_name} from Vault at {config.addr or '(BRAIN_VAULT_ADDR unset)'} ({ref}): {_reason(exc)}"
        ) from None
    REFERENCES[setting] = ref
    _CONFIGS[setting] = config
    return value


_CONFIGS: dict[str, VaultConfig] = {}


def current(settings: Any, name: str) -> str:
    """The value of secret setting `name` now: re-read from Vault after the TTL if it is a reference."""
    ref = REFERENCES.get(name)
    if ref is None:
        return getattr(settings, name)
    return cache_for(_CONFIGS[name]).get(ref)


def check_backend(settings: Any) -> None:
    """With BRAIN_SECRETS_BACKEND=vault, fail start-up unless Vault answers and the login works."""
    if settings.secrets_backend != "vault":
        return
    config = VaultConfig(
        settings.vault_addr,
        settings.vault_token,
        settings.vault_role_id,
        settings.vault_secret_id,
        settings.vault_mount,
        settings.vault_namespace,
        settings.secrets_ttl_s,
    )
    try:
        client = cache_for(config).backend._login()
        if not client.is_authenticated():
            raise ConfigError("the Vault token is not valid")
    except ConfigError as exc:
        raise ConfigError(f"BRAIN_SECRETS_BACKEND=vault: {exc.message}") from None
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(
            f"BRAIN_SECRETS_BACKEND=vault but Vault at {config.addr} is unreachable: {_reason(exc)}"
        ) from None


def _reason(exc: Exception) -> str:
    # Never echo a response body or a token: the exception type and a short reason only.
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "Connection" in type(exc).__name__ or "connect" in text.lower():
        return f"unreachable ({type(exc).__name__})"
    return f"{type(exc).__name__}: {text[:200]}"
