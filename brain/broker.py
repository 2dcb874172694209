"""The Redis broker transport: kombu's, made to survive a broker restart (the worker must never exit).

When the broker goes away under load, Celery's consumer closes the broken connection, and
kombu detaches the connection from its transport (`transport.client = None`) while channels
of that transport are still alive. Closing such a channel restores its unacked messages and
acks of finished tasks still arrive for it; both need a Redis pool, built from
`transport.client`, so they raise `AttributeError: 'NoneType' object has no attribute
'hostname'` (kombu's `_connparams`). That is not a connection error, so nothing catches it
and the worker stops with "Unrecoverable error" (kombu#582, #970 show the same path).

The fix: a transport that keeps its connection parameters once set, so the late close and
acks reach Redis (or fail with a connection error, which Celery handles and retries). It is
registered for the `redis`/`rediss` schemes (including `redis+socket://`) and, as kombu's
sentinel transport with the same fix, for `sentinel://`, before the Celery app connects.
Nothing else changes: messages, keys and options are kombu's.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

from brain import redis_urls

TRANSPORT = "brain.broker:Transport"
SENTINEL_TRANSPORT = "brain.broker:SentinelTransport"


class _KeepsClient:
    """A kombu transport whose `client` (connection parameters) is never reset to None."""

    _client: Any = None

    @property
    def client(self) -> Any:
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        # kombu sets None only to break a reference cycle when it drops the transport; the
        # channels still using it need the parameters more than the cycle needs breaking.
        if value is not None:
            self._client = value


class Transport(_KeepsClient, kombu_redis.Transport):
    """kombu's Redis transport, surviving a broker restart."""


class SentinelTransport(_KeepsClient, kombu_redis.SentinelTransport):
    """kombu's Sentinel transport (it follows a failover), surviving a broker restart the same way."""


def install() -> None:
    """Make Celery and kombu use these transports for every Redis and Sentinel broker URL."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = TRANSPORT
    TRANSPORT_ALIASES["sentinel"] = SENTINEL_TRANSPORT


def celery_broker(url: str) -> tuple[str, dict]:
    """Celery's broker_url and extra transport options for a BRAiN broker URL (sentinel:// converted)."""
    if redis_urls.is_sentinel(url):
        return redis_urls.parse(url).kombu()
    return url, {}
