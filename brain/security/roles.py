"""The four roles and the permission table: which role may do what."""

from __future__ import annotations

from collections.abc import Iterable

# Permissions an endpoint can require (api/auth.py maps endpoints to them).
READ = "read"  # read missions, approvals, events, budgets, system state
SUBMIT = "submit"  # submit missions
CANCEL = "cancel"  # cancel missions
APPROVE = "approve"  # approve or reject missions awaiting approval
ADMIN = "admin"  # reflex reset, policy reload, budgets, anything not listed

PERMISSIONS: tuple[str, ...] = (READ, SUBMIT, CANCEL, APPROVE, ADMIN)

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "operator": frozenset({READ, SUBMIT, CANCEL}),
    "approver": frozenset({READ, APPROVE}),
    "admin": frozenset(PERMISSIONS),
}


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    """Union of the permissions of the known roles; unknown role names grant nothing."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return frozenset(granted)
