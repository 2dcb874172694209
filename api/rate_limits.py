"""Three-tier rate limits (Flask-Limiter on the state Redis, so every API process shares them).

Tier 1 `global`: every /api request per client IP (a burst cap per window plus a sustained
rate over ten windows). Tier 2 `endpoint`: per caller on costly endpoints (mission submission).
Tier 3 `tenant` and `user`: every /api request of an authenticated tenant / user.
The client IP comes from X-Forwarded-For only when the peer is in BRAIN_TRUSTED_PROXIES.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, Response, current_app, request
from flask_limiter import ApplicationLimit, Limit, Limiter, RequestLimit
from limits import parse_many

from api.auth import current_identity
from brain import metrics
from brain.config import Settings
from brain.errors import ConfigError

# Endpoint (blueprint.View:METHOD) → the setting holding its tier-2 limit.
ENDPOINT_LIMITS: dict[str, str] = {
    "missions.Missions:POST": "rate_limit_submit",
    "missions.MissionEnqueue:POST": "rate_limit_submit",
}


def _settings() -> Settings:
    return current_app.config["BRAIN_SETTINGS"]


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip() -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For behind trusted proxies."""
    remote = request.remote_addr or "unknown"
    networks = _networks(_settings().trusted_proxies)
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else remote


def _caller() -> str:
    identity = current_identity()
    return f"user:{identity.tenant}/{identity.sub}" if identity else f"ip:{client_ip()}"


def _tenant_key() -> str:
    identity = current_identity()
    return f"tenant:{identity.tenant}" if identity else ""


def _anonymous() -> bool:
    return current_identity() is None


def _endpoint_setting() -> str | None:
    return ENDPOINT_LIMITS.get(f"{request.endpoint}:{request.method}")


def _endpoint_limit(setting: str) -> Callable[[], str]:
    return lambda: getattr(_settings(), setting)


def _breach(tier: str) -> Callable[[RequestLimit], None]:
    def count(_: RequestLimit) -> None:
        metrics.RATE_LIMIT_EXCEEDED.labels(tier).inc()

    return count


def global_limits(settings: Settings) -> str:
    """`100/second` with burst 200 → at most 200 in any second and 1000 in any ten seconds."""
    item = parse_many(settings.rate_limit_global)[0]
    unit, n = item.GRANULARITY.name, item.multiples
    return f"{settings.rate_limit_burst} per {n} {unit}; {item.amount * 10} per {n * 10} {unit}"


def storage_uri(settings: Settings) -> str:
    if settings.redis_url.startswith("unix://"):
        return "redis+unix://" + settings.redis_url[len("unix://"):]
    return settings.redis_url


def _not_api() -> bool:
    return not request.path.startswith("/api/") or request.method == "OPTIONS"


def build_limiter(settings: Settings) -> Limiter:
    tier2 = [
        Limit(_endpoint_limit(setting), key_function=_caller, scope=f"endpoint-{setting}", shared=True,
              exempt_when=lambda s=setting: _endpoint_setting() != s, on_breach=_breach("endpoint"),
              error_message=f"too many requests to this endpoint ({setting})")
        for setting in sorted(set(ENDPOINT_LIMITS.values()))
    ]
    tier3 = [
        Limit(settings.rate_limit_tenant, key_function=_tenant_key, scope="tenant", shared=True,
              exempt_when=_anonymous, on_breach=_breach("tenant"),
              error_message="too many requests from this tenant"),
        Limit(settings.rate_limit_user, key_function=_caller, scope="user", shared=True,
              exempt_when=_anonymous, on_breach=_breach("user"),
              error_message="too many requests from this user"),
    ]
    return Limiter(
        key_func=client_ip,
        application_limits=[ApplicationLimit(global_limits(settings), key_function=client_ip, scope="global",
                                             on_breach=_breach("global"),
                                             error_message="too many requests from this client")],
        default_limits=[*tier2, *tier3],
        storage_uri=storage_uri(settings),
        storage_options={"socket_timeout": 2, "socket_connect_timeout": 2},
        strategy="moving-window",
        headers_enabled=True,
        key_prefix="brain-rl",
        # A Redis outage must not turn every request into a 500: log it and let the request in.
        swallow_errors=True,
        enabled=settings.rate_limits_enabled,
    )


def register(app: Flask) -> Limiter:
    """Call after the authentication hook and before the authorization hook."""
    settings = app.config["BRAIN_SETTINGS"]
    try:
        _networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"BRAIN_TRUSTED_PROXIES: {exc}") from None
    limiter = build_limiter(settings)
    limiter.request_filter(_not_api)
    # Registered before the limiter's own hook, so it runs after it (Flask runs them in reverse).
    app.after_request(_retry_after_only_on_429)
    limiter.init_app(app)
    return limiter


def _retry_after_only_on_429(response: Response) -> Response:
    # Flask-Limiter sends Retry-After on every response; on a success it misleads clients.
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response
