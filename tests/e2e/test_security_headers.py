"""Over HTTP: security headers on success and error responses, Swagger UI's CSP, CORS closed by default."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Permissions-Policy",
)


def _assert_headers(resp) -> None:
    for name in HEADERS:
        assert resp.headers.get(name), (resp.status_code, resp.request.url, name)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/missions/info", {}, 200),
        ("GET", "/health/live", {}, 200),
        ("GET", "/api/openapi.json", {}, 200),
        ("POST", "/api/missions", {"json": {"name": "h", "agent": "echo"}}, 202),
        ("GET", "/api/missions/6f9619ff-8b86-d011-b42d-00c04fc964ff", {}, 404),
        ("GET", "/api/nowhere", {}, 404),
        ("POST", "/api/missions", {"json": {"agent": "echo"}}, 422),
        ("POST", "/api/missions", {"data": "{nope", "headers": {"Content-Type": "application/json"}}, 400),
        ("DELETE", "/api/missions", {}, 405),
        ("GET", "/api/missions", {"token": "bad.token.here"}, 401),
        ("POST", "/api/missions", {"json": {"name": "h", "agent": "echo"}, "viewer": True}, 403),
    ],
)
def test_security_headers_on_success_and_error(stack, method, path, kwargs, status):
    if kwargs.pop("viewer", False):
        kwargs["token"] = stack.token(roles=("viewer",))
    resp = stack.request(method, path, **kwargs)
    assert resp.status_code == status, resp.text
    _assert_headers(resp)
    if path.startswith("/api/"):
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


def test_swagger_ui_is_served_from_the_package_with_a_strict_csp(stack):
    resp = stack.request("GET", "/api/docs", token=None)
    assert resp.status_code == 200 and "swagger-ui" in resp.text
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
    # Nothing from another origin (it works air-gapped), and no inline script.
    assert not [src for src in resp.text.split('"') if src.startswith(("http:", "https:", "//"))]
    assert "<script>" not in resp.text
    assets = re.findall(r'(?:src|href)="(/api/docs/static/[^"]+)"', resp.text)
    assert len(assets) >= 4
    for asset in assets:
        got = stack.request("GET", asset, token=None)
        assert got.status_code == 200 and len(got.content) > 100, asset
    assert b"/api/openapi.json" in stack.request("GET", "/api/docs/static/init.js", token=None).content
    assert stack.request("GET", "/api/docs/static/../../../etc/passwd", token=None).status_code == 404
    assert stack.request("GET", "/api/docs/static/index.html", token=None).status_code == 404
    _assert_headers(resp)


def test_cors_is_closed_without_configured_origins(stack):
    resp = stack.request("GET", "/api/missions/info", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = stack.request(
        "OPTIONS",
        "/api/missions",
        token=None,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_forwarded_proto_from_untrusted_peer_does_not_claim_tls(stack):
    resp = stack.request("GET", "/api/missions/info", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in resp.headers
