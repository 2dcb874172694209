"""The shared-state Redis client (breakers, budgets, leases, cancel flags, heartbeats)."""

from __future__ import annotations

import redis
from redis.sentinel import Sentinel

from brain import redis_urls
from brain.config import Settings
from brain.embedded_redis import ensure_running
from brain.fork_safe import ForkSafeLock

_lock = ForkSafeLock()
POOL_WAIT_S = 5
_clients: dict[str, redis.Redis] = {}


def ensure_embedded(settings: Settings) -> None:
    """On the minimal profile, start the embedded Redis if nobody has yet."""
    if settings.embedded_redis:
        ensure_running(settings.data_dir)


def get_redis(settings: Settings) -> redis.Redis:
    """One client (connection pool) per URL per process; redis-py resets pools after fork."""
    with _lock:
        client = _clients.get(settings.redis_url)
        if client is None:
            ensure_embedded(settings)
            if redis_urls.is_sentinel(settings.redis_url):
                client = _sentinel_master(settings.redis_url, settings.redis_max_connections)
            else:
                # Blocking: a gevent node's thousand greenlets wait for a free connection rather
                # than fail with "Too many connections" (redis-py's plain pool raises at its limit).
                pool = redis.BlockingConnectionPool.from_url(
                    settings.redis_url,
                    max_connections=settings.redis_max_connections,
                    timeout=POOL_WAIT_S,
                    **_TIMEOUTS,
                )
                client = redis.Redis(connection_pool=pool)
            _clients[settings.redis_url] = client
        return client


_TIMEOUTS = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 30}


def _sentinel_master(url: str, max_connections: int | None = None) -> redis.Redis:
    """A client of whichever server the sentinels name master now; it follows a failover.

    Its connections ask the sentinels again when the master stops answering or turns
    read-only, so the Lua scripts (budgets, breakers, rate limits) run on the new master.
    """
    target = redis_urls.parse(url)
    sentinel_kwargs = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    sentinels = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_kwargs)
    pool_options = {"max_connections": max_connections} if max_connections else {}
    return sentinels.master_for(target.master_name, db=target.db, password=target.password, **_TIMEOUTS, **pool_options)


# Key names in one place so every process agrees on them.
def cancel_key(mission_id: str) -> str:
    return f"brain:cancel:{mission_id}"


def lease_key(mission_id: str) -> str:
    return f"brain:lease:{mission_id}"


def worker_key(hostname: str) -> str:
    return f"brain:worker:{hostname}"


WORKER_KEY_PATTERN = "brain:worker:*"
# The worker node that sweeps (brain/sweep_leader.py) and when a sweep last finished (epoch seconds).
SWEEP_LEADER_KEY = "brain:sweep:leader"
LAST_SWEEP_KEY = "brain:sweep:last"


def get_broker_redis(settings: Settings) -> redis.Redis:
    """A plain Redis client on the broker (queue depths); same server as state by default."""
    url = settings.broker_url
    if url.startswith("redis+socket://"):
        url = "unix://" + url[len("redis+socket://") :]
    if url == settings.redis_url:
        return get_redis(settings)
    with _lock:
        client = _clients.get(url)
        if client is None:
            if redis_urls.is_sentinel(url):
                client = _sentinel_master(url)
            else:
                client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
            _clients[url] = client
        return client


_scripts: dict[tuple[int, str], object] = {}


def script(client: redis.Redis, source: str):
    """A Lua script run by EVALSHA (loaded once per client), so its body is not sent every call."""
    key = (id(client), source)
    found = _scripts.get(key)
    if found is None:
        found = _scripts[key] = client.register_script(source)
    return found
