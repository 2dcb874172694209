"""Authentication and authorization: JWT verification, identities, roles and permissions."""

from brain.security.roles import PERMISSIONS, ROLES, permissions_of
from brain.security.tokens import AuthError, Identity, issue_token, verify_token

__all__ = ["PERMISSIONS", "ROLES", "AuthError", "Identity", "issue_token", "permissions_of", "verify_token"]
