"""The four runtime profiles and the defaults each one sets."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

ALL_MODULES = ("missions", "neurorail", "governance", "audit", "metrics", "security")

_BASE: dict[str, Any] = {
    "modules": ALL_MODULES,
    "governance_enabled": True,
    "neurorail_phase": 1,
    "database_url": "postgresql+psycopg2://brain@127.0.0.1:5432/brain",
    "redis_url": "redis://127.0.0.1:6379/0",
    "broker_url": "",
    "worker_count": 5,
    "multi_tenancy": False,
    "secrets_backend": "env",
    "auth_required": True,
    "encrypt_payloads": False,
}

PROFILES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "minimal": MappingProxyType(
            {
                **_BASE,
                "governance_enabled": False,
                "neurorail_phase": 0,
                # Both resolve under the data directory: a SQLite file and the
                # embedded Redis socket, so nothing has to be installed.
                "database_url": "sqlite:///{data_dir}/brain.db",
                "redis_url": "embedded",
                "worker_count": 2,
                "auth_required": False,
            }
        ),
        "standard": MappingProxyType(dict(_BASE)),
        "full": MappingProxyType({**_BASE, "neurorail_phase": 2, "worker_count": 10}),
        "enterprise": MappingProxyType(
            {
                **_BASE,
                "neurorail_phase": 2,
                "worker_count": 10,
                "multi_tenancy": True,
                "secrets_backend": "vault",
                "encrypt_payloads": True,
            }
        ),
    }
)

PROFILE_NAMES = tuple(PROFILES)
DEFAULT_PROFILE = "minimal"
