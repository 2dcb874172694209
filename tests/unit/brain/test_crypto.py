"""Payload encryption: round trips, key rotation, refusal to start without keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from brain import crypto
from brain.config import load_settings
from brain.errors import ConfigError

ENV = {"BRAIN_DATA_DIR": "/tmp/brain-unit"}


def test_encryption_round_trip_and_rotation():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    s_old = load_settings({**ENV, "BRAIN_ENCRYPT_PAYLOADS": "true", "BRAIN_ENCRYPTION_KEYS": old})
    stored = crypto.encrypt({"card": "4111"}, s_old)
    assert "4111" not in str(stored) and crypto.decrypt(stored, s_old) == {"card": "4111"}
    s_both = load_settings({**ENV, "BRAIN_ENCRYPT_PAYLOADS": "true", "BRAIN_ENCRYPTION_KEYS": f"{new},{old}"})
    rotated = crypto.reencrypt(stored, s_both)
    s_new = load_settings({**ENV, "BRAIN_ENCRYPT_PAYLOADS": "true", "BRAIN_ENCRYPTION_KEYS": new})
    assert crypto.decrypt(rotated, s_new) == {"card": "4111"}
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        crypto.decrypt(stored, s_new)
    assert crypto.decrypt({"plain": 1}, s_new) == {"plain": 1}  # rows from before encryption


def test_encryption_on_without_keys_is_a_start_up_error():
    with pytest.raises(ConfigError, match="BRAIN_ENCRYPTION_KEYS"):
        crypto.check(load_settings({**ENV, "BRAIN_ENCRYPT_PAYLOADS": "true"}))
