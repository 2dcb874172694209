"""JWT verification: accepted tokens, and every way a token is refused (in-process, no server needed)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from brain.config import load_settings
from brain.errors import ConfigError
from brain.security import AuthError, issue_token, permissions_of, verify_token

SECRET = "unit-test-jwt-secret-0123456789abcdef0123"


def _settings(**env: str):
    return load_settings(
        {"BRAIN_DATA_DIR": "/tmp/brain-unit", "BRAIN_JWT_SECRET": SECRET, "BRAIN_MULTI_TENANCY": "true", **env}
    )


def _claims(**extra):
    now = int(time.time())
    return {"sub": "alice", "exp": now + 300, **extra}


def test_hs256_token_gives_identity_with_defaults():
    identity = verify_token(jwt.encode(_claims(), SECRET, "HS256"), _settings())
    assert (identity.sub, identity.tenant, identity.roles) == ("alice", "default", frozenset())


def test_issued_token_round_trips_tenant_and_roles():
    s = _settings()
    identity = verify_token(issue_token(s, "bob", tenant="acme", roles=["operator", "viewer"]), s)
    assert identity.tenant == "acme" and identity.roles == {"operator", "viewer"}


def test_single_tenant_deployments_ignore_the_tenant_claim():
    s = _settings(BRAIN_MULTI_TENANCY="false")
    for tenant in ("acme", "a/b", 42):
        assert verify_token(jwt.encode(_claims(tenant=tenant), SECRET, "HS256"), s).tenant == "default"


@pytest.mark.parametrize(
    ("token_claims", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
        ({"tenant": "a/b"}, "tenant"),
        ({"roles": {"admin": True}}, "roles"),
    ],
)
def test_bad_claims_are_refused(token_claims, message):
    claims = {k: v for k, v in _claims(**token_claims).items() if v is not None}
    with pytest.raises(AuthError, match=message):
        verify_token(jwt.encode(claims, SECRET, "HS256"), _settings())


def test_leeway_tolerates_small_clock_skew_only():
    s = _settings(BRAIN_JWT_LEEWAY_S="30")
    verify_token(jwt.encode(_claims(exp=int(time.time()) - 10), SECRET, "HS256"), s)
    with pytest.raises(AuthError, match="expired"):
        verify_token(jwt.encode(_claims(exp=int(time.time()) - 60), SECRET, "HS256"), s)


def test_wrong_secret_and_garbage_are_refused():
    with pytest.raises(AuthError, match="signature"):
        verify_token(jwt.encode(_claims(), "another-secret-0123456789abcdef0123", "HS256"), _settings())
    with pytest.raises(AuthError, match="malformed"):
        verify_token("not.a.jwt", _settings())


def _unsigned(claims: dict, alg: str = "none") -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg):
    with pytest.raises(AuthError, match="not accepted"):
        verify_token(_unsigned(_claims(roles=["admin"]), alg), _settings(BRAIN_JWT_ALGORITHMS=f"HS256,{alg}"))


def _rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_with_public_key_and_algorithm_confusion_refused(tmp_path):
    private, public = _rsa_pair()
    path = tmp_path / "pub.pem"
    path.write_text(public)
    s = load_settings({"BRAIN_DATA_DIR": "/tmp/brain-unit", "BRAIN_JWT_PUBLIC_KEY": str(path)})
    assert verify_token(jwt.encode(_claims(), private, "RS256"), s).sub == "alice"
    # The classic confusion attack: HS256 "signed" with the public key as the HMAC secret.
    import hmac
    from hashlib import sha256

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(_claims(roles=['admin']))}"
    sig = base64.urlsafe_b64encode(hmac.new(public.encode(), signing_input.encode(), sha256).digest()).rstrip(b"=")
    with pytest.raises(AuthError, match="HS256"):
        verify_token(f"{signing_input}.{sig.decode()}", s)


def test_es256_via_jwks_file_picks_key_by_kid(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "ES256", "use": "sig"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    s = load_settings(
        {"BRAIN_DATA_DIR": "/tmp/brain-unit", "BRAIN_JWT_JWKS_FILE": str(path), "BRAIN_MULTI_TENANCY": "true"}
    )
    token = jwt.encode(_claims(tenant="acme"), key, "ES256", headers={"kid": "k1"})
    assert verify_token(token, s).tenant == "acme"
    other = jwt.encode(_claims(), key, "ES256", headers={"kid": "unknown"})
    with pytest.raises(AuthError, match="kid"):
        verify_token(other, s)


def test_issuer_and_audience_are_checked_when_configured():
    s = _settings(BRAIN_JWT_ISSUER="https://idp", BRAIN_JWT_AUDIENCE="brain")
    verify_token(jwt.encode(_claims(iss="https://idp", aud="brain"), SECRET, "HS256"), s)
    with pytest.raises(AuthError):
        verify_token(jwt.encode(_claims(iss="https://evil", aud="brain"), SECRET, "HS256"), s)
    with pytest.raises(AuthError):
        verify_token(jwt.encode(_claims(iss="https://idp", aud="other"), SECRET, "HS256"), s)


def test_permission_table():
    assert permissions_of(["viewer"]) == {"read"}
    assert permissions_of(["operator"]) == {"read", "submit", "cancel"}
    assert permissions_of(["approver"]) == {"read", "approve"}
    assert permissions_of(["admin"]) == {"read", "submit", "cancel", "approve", "admin"}
    assert permissions_of(["root", "superuser"]) == frozenset()


@pytest.mark.parametrize(
    "token_claims",
    [
        {"exp": 10**20},  # for ever, no iat
        {"exp": 10**20, "iat": int(time.time())},  # for ever, with iat
        {"iat": int(time.time()) - 10, "exp": int(time.time()) + 31 * 86400},  # a day over the default 30
    ],
)
def test_tokens_beyond_the_maximum_lifetime_are_refused(token_claims):
    with pytest.raises(AuthError, match="BRAIN_JWT_MAX_TTL_S"):
        verify_token(jwt.encode(_claims(**token_claims), SECRET, "HS256"), _settings())


def test_the_maximum_lifetime_is_a_setting_and_bounds_issuing_too():
    long_lived = _claims(iat=int(time.time()), exp=int(time.time()) + 7 * 86400)
    with pytest.raises(AuthError, match="lifetime"):
        verify_token(jwt.encode(long_lived, SECRET, "HS256"), _settings(BRAIN_JWT_MAX_TTL_S="86400"))
    assert verify_token(jwt.encode(long_lived, SECRET, "HS256"), _settings()).sub == "alice"
    with pytest.raises(ConfigError, match="BRAIN_JWT_MAX_TTL_S"):
        issue_token(_settings(BRAIN_JWT_MAX_TTL_S="3600"), "bob", ttl_s=7200)
