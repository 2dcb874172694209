"""API tokens: verify a JWT into an Identity (HS256 secret, RS/ES public key or JWKS), and mint one."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt

from brain import secrets
from brain.errors import BrainError, ConfigError
from brain.json_limits import text_problem

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_TENANT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuthError(BrainError):
    """The request's credentials are missing or not acceptable (HTTP 401)."""

    error = "unauthorized"


@dataclass(frozen=True)
class Identity:
    """Who is calling: the token's subject, tenant and roles."""

    sub: str
    tenant: str = "default"
    roles: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def verify_token(token: str, settings: Any) -> Identity:
    """Check signature, algorithm, exp/nbf (with leeway), iss/aud and the required claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("the bearer token is malformed") from None
    alg = header.get("alg")
    # Never let the token choose a key family the server did not configure for it:
    # `none` and HS256-signed-with-the-public-key (algorithm confusion) stop here.
    if not isinstance(alg, str) or alg not in settings.jwt_algorithms or alg.lower() == "none":
        raise AuthError(f"token algorithm {alg!r} is not accepted")
    key = _key_for(alg, header, settings)
    options: dict[str, Any] = {"require": ["sub", "exp"], "verify_aud": bool(settings.jwt_audience)}
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            leeway=settings.jwt_leeway_s,
            options=options,
            issuer=settings.jwt_issuer or None,
            audience=settings.jwt_audience or None,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the bearer token has expired") from None
    except jwt.InvalidSignatureError:
        raise AuthError("the bearer token's signature is not valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"the bearer token lacks the {exc.claim!r} claim") from None
    except (jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
        raise AuthError(f"token algorithm {alg!r} does not match the configured key") from None
    except jwt.PyJWTError as exc:
        raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from None
    _check_lifetime(claims, settings)
    return _identity(claims, settings.multi_tenancy)


def _check_lifetime(claims: dict[str, Any], settings: Any) -> None:
    """A token may not outlive BRAIN_JWT_MAX_TTL_S: a stolen token with `exp` 10^20 is a key for ever."""
    now = dt.datetime.now(dt.UTC).timestamp()
    exp, iat = claims["exp"], claims.get("iat")
    start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else now
    try:
        lifetime = float(exp) - min(float(start), now)
    except (OverflowError, TypeError, ValueError):
        raise AuthError("the bearer token's exp or iat is out of range") from None
    if lifetime != lifetime:  # NaN
        raise AuthError("the bearer token's exp or iat is out of range")
    if lifetime > settings.jwt_max_ttl_s + settings.jwt_leeway_s:
        raise AuthError(
            f"the bearer token's lifetime exceeds the {settings.jwt_max_ttl_s} s this server "
            "accepts (BRAIN_JWT_MAX_TTL_S)"
        )


def _identity(claims: dict[str, Any], multi_tenancy: bool) -> Identity:
    # Single-tenant deployments have one implicit tenant: a token cannot move its caller elsewhere.
    sub, tenant = claims.get("sub"), claims.get("tenant", "default") if multi_tenancy else "default"
    if not isinstance(sub, str) or not sub or len(sub) > 255 or text_problem(sub):
        raise AuthError("the token's 'sub' must be a non-empty string of at most 255 storable characters")
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise AuthError("the token's 'tenant' must be 1-64 characters of [A-Za-z0-9._-]")
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.replace(",", " ").split()
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise AuthError("the token's 'roles' must be a list of strings")
    return Identity(sub=sub, tenant=tenant, roles=frozenset(roles), claims=claims)


def _key_for(alg: str, header: dict[str, Any], settings: Any) -> Any:
    if alg in HMAC_ALGORITHMS:
        secret = secrets.current(settings, "jwt_secret")
        if not secret:
            raise AuthError(f"{alg} tokens are not accepted (no BRAIN_JWT_SECRET)")
        return secret
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise AuthError(f"token algorithm {alg!r} is not accepted")
    if settings.jwt_jwks_file:
        return _jwks_key(settings.jwt_jwks_file, header.get("kid"), alg)
    if settings.jwt_public_key:
        return _public_key(settings.jwt_public_key)
    raise AuthError(f"{alg} tokens are not accepted (no BRAIN_JWT_PUBLIC_KEY or BRAIN_JWT_JWKS_FILE)")


_file_cache: dict[str, tuple[float, Any]] = {}


def _read_cached(path: str, load) -> Any:
    """Parse a key file once per modification time (a replaced JWKS is picked up)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise ConfigError(f"cannot read the JWT key file {path!r}: {exc.strerror}") from None
    cached = _file_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    with open(path, encoding="utf-8") as fh:
        value = load(fh.read())
    _file_cache[path] = (mtime, value)
    return value


def _public_key(value: str) -> str:
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return _read_cached(value, lambda text: text)


def _jwks_key(path: str, kid: str | None, alg: str) -> Any:
    keyset = _read_cached(path, lambda text: jwt.PyJWKSet.from_dict(json.loads(text)))
    candidates = [k for k in keyset.keys if kid is None or k.key_id == kid]
    candidates = [k for k in candidates if not getattr(k, "algorithm_name", None) or k.algorithm_name == alg]
    if not candidates:
        raise AuthError("no key in the JWKS matches the token's kid and algorithm")
    return candidates[0].key


def issue_token(
    settings: Any,
    sub: str,
    *,
    tenant: str = "default",
    roles: Iterable[str] = (),
    ttl_s: int = 3600,
    algorithm: str = "HS256",
    private_key: str | None = None,
    kid: str | None = None,
) -> str:
    """Mint a token: HS* with BRAIN_JWT_SECRET, or RS*/ES* with the given private key (PEM)."""
    if ttl_s > settings.jwt_max_ttl_s:
        raise ConfigError(f"a token lifetime of {ttl_s} s exceeds BRAIN_JWT_MAX_TTL_S ({settings.jwt_max_ttl_s} s)")
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "tenant": tenant,
        "roles": sorted(set(roles)),
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_s),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if algorithm in HMAC_ALGORITHMS:
        key = secrets.current(settings, "jwt_secret")
        if not key:
            raise ConfigError(f"{algorithm} tokens need BRAIN_JWT_SECRET")
    elif private_key:
        key = private_key
    else:
        raise ConfigError(f"{algorithm} tokens need a private key (--private-key)")
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
