"""Security headers on every response (success and error), HSTS over TLS, CORS only for configured origins."""

from __future__ import annotations

from flask import Flask, Response, request

from api.app_settings import app_settings
from api.rate_limits import _networks, _trusted

# JSON endpoints load nothing: deny everything, including being framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI (/api/docs) loads its scripts and styles from this origin (api/docs/, vendored from
# the swagger-ui-bundle package) and fetches /api/openapi.json; no inline script. Its React views
# set inline style attributes, hence 'unsafe-inline' for styles only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATH = "/api/docs"
# The console (api/console/) is the strictest page: its own script and styles only, nothing inline.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
CONSOLE_PATH = "/console"

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, Last-Event-ID"
CORS_EXPOSE = "Location, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


def over_tls() -> bool:
    """Whether the client reached us over TLS (directly or through a trusted proxy)."""
    if request.is_secure:
        return True
    settings = app_settings()
    proto = request.headers.get("X-Forwarded-Proto", "")
    return proto == "https" and _trusted(request.remote_addr or "", _networks(settings.trusted_proxies))


def _cors(response: Response) -> None:
    origin = request.headers.get("Origin")
    allowed = app_settings().cors_origins
    if not origin or not allowed:
        return
    response.vary.add("Origin")
    if origin not in allowed and "*" not in allowed:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"


def _after(response: Response) -> Response:
    csp = API_CSP
    if request.path.rstrip("/") == DOCS_PATH:
        csp = DOCS_CSP
    elif request.path == CONSOLE_PATH or request.path.startswith(CONSOLE_PATH + "/"):
        csp = CONSOLE_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if over_tls():
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    _cors(response)
    return response


def register(app: Flask) -> None:
    app.after_request(_after)
