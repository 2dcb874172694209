"""The console's login session: the bearer token in an HttpOnly cookie, and its CSRF token.

A browser cannot add an Authorization header to a form or a link, so the console keeps the
token the user pasted in `brain_session` (HttpOnly, SameSite=Strict, Secure over TLS) and the
API accepts it in place of the header. Because a cookie rides along with any request the
browser makes, every unsafe request authenticated by it must also carry the CSRF token
(double submit: the `X-CSRF-Token` header or a `csrf` form field equal to the `brain_csrf`
cookie). Another site can make the browser send the cookies but cannot read them, nor the
/console/session answer that hands the CSRF token to the console's own script.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from flask import Request, Response

SESSION_COOKIE = "brain_session"
CSRF_COOKIE = "brain_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
# The console's own HTML forms (everything else under /api takes JSON only).
FORM_POSTS = frozenset({"/console/login", "/console/logout"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Without an exp claim (never issued by `brain token issue`) the session still ends.
DEFAULT_TTL_S = 8 * 3600


def session_token(request: Request) -> str | None:
    """The bearer token of the console session this request carries, if any."""
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_token(request: Request) -> str | None:
    return request.cookies.get(CSRF_COOKIE) or None


def csrf_ok(request: Request) -> bool:
    """Whether an unsafe request proves it came from the console's own pages."""
    if request.method in SAFE_METHODS:
        return True
    expected = csrf_token(request)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    return bool(expected and sent) and hmac.compare_digest(expected, sent)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def _cookie(response: Response, name: str, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="Strict")


def start(response: Response, token: str, claims: dict[str, Any], secure: bool) -> None:
    """Log in: the token until it expires, and a fresh CSRF token (no fixation across logins)."""
    exp = claims.get("exp")
    max_age = int(exp - time.time()) if isinstance(exp, int | float) else DEFAULT_TTL_S
    max_age = max(1, max_age)
    _cookie(response, SESSION_COOKIE, token, max_age, secure)
    _cookie(response, CSRF_COOKIE, new_csrf(), max_age, secure)


def ensure_csrf(request: Request, response: Response, secure: bool) -> str:
    """The CSRF token for a form served before login (set as a cookie when there is none)."""
    current = csrf_token(request)
    if current:
        return current
    value = new_csrf()
    _cookie(response, CSRF_COOKIE, value, DEFAULT_TTL_S, secure)
    return value


def end(response: Response, secure: bool) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Strict")
