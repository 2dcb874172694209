"""Whether a tenant may act now: read from the database, cached per process for at most half a second.

The tenants table is the shared state; the short cache only keeps a busy API from asking
on every request, and bounds how long a suspension can take to reach a process (< 1 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from brain.config import Settings
from brain.db import read_scope
from brain.errors import TenantDeleted, TenantSuspended, TenantUnknown
from brain.fork_safe import ForkSafeLock
from brain.models import Tenant
from brain.tenancy import plans

CACHE_S = 0.5

_lock = ForkSafeLock()
_cache: dict[str, tuple[float, TenantState | None]] = {}


@dataclass(frozen=True)
class TenantState:
    """What every process needs to know of a tenant right now."""

    status: str
    suspended_reason: str | None
    weight: int
    limits: dict[str, Any]


def lookup(database_url: str, tenant: str) -> TenantState | None:
    """The tenant's state, or None for no such tenant; at most CACHE_S old."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(tenant)
    if hit is not None and now - hit[0] < CACHE_S:
        return hit[1]
    with read_scope(database_url) as session:  # callers may hold a write transaction already
        row = session.get(Tenant, tenant)
        found = None
        if row is not None:
            weight, limits = plans.effective(row.plan, row.weight, row.limits or {})
            found = TenantState(row.status, row.suspended_reason, weight, limits)
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()  # tokens naming made-up tenants must not grow it without bound
        _cache[tenant] = (now, found)
    return found


def require_active(database_url: str, tenant: str) -> None:
    """Raise unless `tenant` exists and is active."""
    found = lookup(database_url, tenant)
    if found is None:
        raise TenantUnknown(f"tenant {tenant!r} does not exist")
    if found.status == "suspended":
        reason = found.suspended_reason
        raise TenantSuspended(f"tenant {tenant!r} is suspended" + (f": {reason}" if reason else ""))
    if found.status == "deleted":
        raise TenantDeleted(f"tenant {tenant!r} was deleted; its tokens are refused")


def limit(settings: Settings, tenant: str, name: str) -> float | None:
    """The tenant's own limit `name` (0 = unlimited) in multi-tenant mode; None: the global settings apply."""
    if not settings.multi_tenancy:
        return None
    found = lookup(settings.database_url, tenant)
    return None if found is None else found.limits.get(name)


def forget() -> None:
    """Drop the cache (this process changed a tenant, or a test needs a fresh read)."""
    with _lock:
        _cache.clear()
