"""Whose rows database work may see: the tenant scope PostgreSQL row-level security enforces.

Every tenant-owned table has a policy on the connection setting `brain.tenant`: a tenant id
sees that tenant's rows only, `*` (the system scope) sees every row, anything else sees none.
Code states its scope with `tenant_scope(tenant)` or, for work that must cross tenants
(sweeper, claim, metrics, health, the CLI), `system_scope(purpose)`: the one path across
tenants, counted by purpose in `brain_db_system_scope_total`. A connection takes the scope
of the code that checks it out of the pool.

The setting is session-level and re-applied at every checkout whose scope differs from the
connection's last one (a transaction-local `SET LOCAL` would be lost by autocommit reads,
which run each statement as its own transaction). Unscoped work in multi-tenant mode gets
the empty scope and sees nothing: forgetting a scope fails closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine

from brain import metrics

log = logging.getLogger("brain.tenancy.scope")

SYSTEM = "*"
NOTHING = ""
SETTING = "brain.tenant"

# Every reason work may cross tenants; a new one is added here, where it can be reviewed.
Purpose = Literal[
    "sweep", "claim", "hard_time_limit", "metrics", "cli", "migrate", "startup", "tenant_admin", "dispatch"
]

_scope: ContextVar[str | None] = ContextVar("brain_tenant_scope", default=None)
_INFO_KEY = "brain.tenant"


def current(multi_tenancy: bool) -> str:
    """The scope database work runs in now (unscoped: everything single-tenant, nothing multi-tenant)."""
    scope = _scope.get()
    if scope is not None:
        return scope
    return NOTHING if multi_tenancy else SYSTEM


@contextmanager
def tenant_scope(tenant: str) -> Iterator[None]:
    """Database work inside sees tenant `tenant`'s rows only."""
    token = _scope.set(tenant)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def system_scope(purpose: Purpose) -> Iterator[None]:
    """Database work inside sees every tenant's rows: the one audited path across tenants."""
    metrics.DB_SYSTEM_SCOPE.labels(purpose=purpose).inc()
    log.debug("system scope entered for %s", purpose)
    token = _scope.set(SYSTEM)
    try:
        yield
    finally:
        _scope.reset(token)


def enter_request_scope(tenant: str | None) -> None:
    """Scope the rest of this request (the API sets it once the caller is known; None: unscoped)."""
    _scope.set(tenant)


def install(engine: Engine, multi_tenancy: bool) -> None:
    """Apply the current scope to every connection `engine` checks out of its pool (PostgreSQL)."""

    @event.listens_for(engine, "checkout")
    def _apply(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        wanted = current(multi_tenancy)
        if record.info.get(_INFO_KEY) == wanted:
            return
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT set_config(%s, %s, false)", (SETTING, wanted))
        finally:
            cursor.close()
        if not dbapi_conn.autocommit:
            dbapi_conn.commit()  # a session setting made in a transaction is undone by its rollback
        record.info[_INFO_KEY] = wanted
