"""Flower options for the active profile: loopback by default, basic auth from settings/secrets."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

from brain.config import Settings

_generated: str | None = None


def password(settings: Settings) -> str:
    """The configured password, or one random password per process, printed once to stderr."""
    global _generated
    if settings.flower_password:
        return settings.flower_password
    if _generated is None:
        _generated = secrets.token_urlsafe(18)
        print(
            f"brain flower: BRAIN_FLOWER_PASSWORD is not set; this run's login is "
            f"{settings.flower_user} / {_generated}",
            file=sys.stderr,
        )
    return _generated


def options(settings: Settings) -> dict[str, Any]:
    """Flower (tornado) option values; a FLOWER_* environment variable still wins over each."""
    values: dict[str, Any] = {
        "address": settings.flower_address,
        "port": settings.flower_port,
        "basic_auth": [f"{settings.flower_user}:{password(settings)}"],
    }
    return {k: v for k, v in values.items() if f"FLOWER_{k.upper()}" not in os.environ}


def env(settings: Settings) -> dict[str, str]:
    """The same options as FLOWER_* variables, for `brain flower` to pass to the process it starts."""
    base = dict(os.environ)
    for key, value in options(settings).items():
        base[f"FLOWER_{key.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
    return base
