"""The start-up check that a multi-tenant deployment's database role cannot bypass row-level security."""

from __future__ import annotations

from sqlalchemy import text

from brain.config import mask
from brain.db import get_engine
from brain.errors import ConfigError
from brain.tenancy.scope import system_scope

APP_ROLE = "brain_app"  # migration 0006 grants it what the API and workers need
TENANT_TABLES = ("missions", "events", "approvals")

_PRIVILEGES = text(
    """
    SELECT r.rolname, r.rolsuper, r.rolbypassrls,
           (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
             WHERE c.relname = ANY(:tables) AND c.relkind = 'r' AND pg_table_is_visible(c.oid)
               AND pg_has_role(current_user, c.relowner, 'MEMBER')) AS owns
    FROM pg_roles r WHERE r.rolname = current_user
    """
)


def why_unsafe(database_url: str) -> str | None:
    """What lets this connection's role see across tenants (None: nothing; SQLite: not applicable)."""
    if not database_url.startswith("postgres"):
        return None
    with system_scope("startup"), get_engine(database_url).connect() as conn:
        name, superuser, bypass, owns = conn.execute(_PRIVILEGES, {"tables": list(TENANT_TABLES)}).one()
    if superuser:
        return f"role {name!r} is a superuser"
    if bypass:
        return f"role {name!r} has BYPASSRLS"
    if owns:
        return f"role {name!r} owns {owns}"
    return None


def require_isolating_role(database_url: str, multi_tenancy: bool) -> None:
    """Refuse to start multi-tenant on PostgreSQL as a role row-level security does not hold."""
    if not multi_tenancy:
        return
    reason = why_unsafe(database_url)
    if reason:
        raise ConfigError(
            f"multi-tenant mode needs a database role that row-level security holds, but at {mask(database_url)} "
            f"{reason}; log in as a member of {APP_ROLE} (README: Database role)"
        )
