"""Security settings: rate-limit strings, client IP behind trusted proxies, encryption round trips."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from api.rate_limits import client_ip, rules_of
from brain import crypto
from brain.config import load_settings
from brain.errors import ConfigError

ENV = {"BRAIN_DATA_DIR": "/tmp/brain-unit"}


def test_bad_rate_limit_setting_stops_start_up():
    with pytest.raises(ConfigError, match="BRAIN_RATE_LIMIT_SUBMIT"):
        load_settings({**ENV, "BRAIN_RATE_LIMIT_SUBMIT": "lots"})


def test_global_limit_has_burst_and_sustained_windows():
    s = load_settings({**ENV, "BRAIN_RATE_LIMIT_GLOBAL": "100/second", "BRAIN_RATE_LIMIT_BURST": "200"})
    rules = rules_of(s)
    assert (rules.burst.amount, rules.burst.window_s) == (200, 1)
    assert (rules.sustained.amount, rules.sustained.window_s) == (1000, 10)
    assert rules.burst.scope != rules.sustained.scope


@pytest.mark.parametrize(("proxies", "peer", "xff", "expected"), [
    ("", "10.0.0.5", "1.2.3.4", "10.0.0.5"),                       # no trusted proxy: header ignored
    ("10.0.0.0/8", "192.0.2.9", "1.2.3.4", "192.0.2.9"),           # peer not trusted: header ignored
    ("10.0.0.0/8", "10.0.0.5", "1.2.3.4", "1.2.3.4"),              # trusted proxy: its client
    ("10.0.0.0/8", "10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.7", "1.2.3.4"),  # spoofed left part skipped
])
def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(proxies, peer, xff, expected):
    app = Flask("t")
    app.config["BRAIN_SETTINGS"] = load_settings({**ENV, "BRAIN_TRUSTED_PROXIES": proxies})
    with app.test_request_context("/api/x", headers={"X-Forwarded-For": xff},
                                  environ_base={"REMOTE_ADDR": peer}):
        assert client_ip() == expected


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
