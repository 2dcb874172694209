"""Encryption at rest of mission payloads and results: Fernet (MultiFernet for key rotation).

A stored encrypted value is the JSON object {"$fernet": "<token>"}; anything else is plaintext
(rows written before encryption was switched on) and is read as is. Keys come from
BRAIN_ENCRYPTION_KEYS (comma-separated, newest first; may be a vault: reference and is then
re-read after the secrets TTL, so a key added in Vault is used without a restart).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

from brain import secrets
from brain.config import get_settings
from brain.errors import ConfigError
from brain.fork_safe import ForkSafeLock

MARKER = "$fernet"

_lock = ForkSafeLock()
_keyring: tuple[str, MultiFernet] | None = None


def generate_key() -> str:
    return Fernet.generate_key().decode()


_active: Any = None


def configure(settings: Any) -> None:
    """Use these settings (the API's) instead of the process-wide ones."""
    global _active
    _active = settings


def _settings() -> Any:
    return _active or get_settings()


def keyring(settings: Any = None) -> MultiFernet:
    """The MultiFernet of the configured keys (rebuilt when the key list changes)."""
    global _keyring
    settings = settings or _settings()
    raw = secrets.current(settings, "encryption_keys")
    with _lock:
        if _keyring is not None and _keyring[0] == raw:
            return _keyring[1]
        keys = [k.strip() for k in (raw or "").split(",") if k.strip()]
        if not keys:
            raise ConfigError(
                "payload encryption is on but BRAIN_ENCRYPTION_KEYS is empty; generate a key with `brain keys generate`"
            )
        try:
            ring = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError:
            raise ConfigError(
                "BRAIN_ENCRYPTION_KEYS holds a malformed Fernet key (32 url-safe base64-encoded bytes each)"
            ) from None
        _keyring = (raw, ring)
        return ring


def enabled(settings: Any = None) -> bool:
    return bool((settings or _settings()).encrypt_payloads)


def check(settings: Any) -> None:
    """Start-up: with encryption on, the keys must be present and well-formed."""
    if enabled(settings):
        keyring(settings)


def is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARKER), str)


def encrypt(value: Any, settings: Any = None) -> dict[str, str]:
    token = keyring(settings).encrypt(json.dumps(value, separators=(",", ":")).encode())
    return {MARKER: token.decode()}


def decrypt(value: Any, settings: Any = None) -> Any:
    if not is_encrypted(value):
        return value
    try:
        return json.loads(keyring(settings).decrypt(value[MARKER].encode()))
    except InvalidToken:
        raise ConfigError(
            "a stored value cannot be decrypted with BRAIN_ENCRYPTION_KEYS "
            "(was its key removed before `brain keys rotate`?)"
        ) from None


def reencrypt(value: Any, settings: Any = None) -> Any:
    """For `brain keys rotate`: re-encrypt with the newest key (encrypt plaintext if encryption is on)."""
    if is_encrypted(value):
        return {MARKER: keyring(settings).rotate(value[MARKER].encode()).decode()}
    if value is not None and enabled(settings):
        return encrypt(value, settings)
    return value


class EncryptedJSON(TypeDecorator):
    """A JSON column whose value is Fernet-encrypted when payload encryption is on."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> Any:
        if value is None or not enabled():
            return value
        return encrypt(value)

    def process_result_value(self, value: Any, dialect) -> Any:
        return decrypt(value)
