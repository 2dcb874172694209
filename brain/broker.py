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
registered for the `redis`/`rediss` schemes (including `redis+socket://`) before the Celery
app connects. Nothing else changes: messages, keys and options are kombu's.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

TRANSPORT = "brain.broker:Transport"


class Transport(kombu_redis.Transport):
    """kombu's Redis transport whose `client` (connection parameters) is never reset to None."""

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


def install() -> None:
    """Make Celery and kombu use this transport for every Redis broker URL."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = TRANSPORT
