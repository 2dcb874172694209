"""Redis Sentinel URLs: `sentinel://[:password@]host:port,host:port/db?master_name=NAME`, parsed once.

BRAIN_REDIS_URL and BRAIN_BROKER_URL take this form besides redis:// and friends. The state
clients ask the sentinels for the current master (redis-py's Sentinel) and follow it when it
fails over; the broker becomes kombu's sentinel transport, which does the same for Celery.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from brain.errors import ConfigError

SCHEME = "sentinel://"
DEFAULT_PORT = 26379


@dataclass(frozen=True)
class SentinelURL:
    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    password: str | None = None  # the master's and replicas' (requirepass)
    sentinel_password: str | None = None  # the sentinels' own, if they require one

    def kombu(self) -> tuple[str, dict]:
        """kombu's form: one `sentinel://` URL per sentinel joined by `;`, and its transport options."""
        auth = f":{self.password}@" if self.password else ""
        hosts = [(f"[{host}]" if ":" in host else host, port) for host, port in self.sentinels]
        url = ";".join(f"sentinel://{auth}{host}:{port}/{self.db}" for host, port in hosts)
        options: dict = {"master_name": self.master_name}
        if self.sentinel_password:
            options["sentinel_kwargs"] = {"password": self.sentinel_password}
        return url, options


def is_sentinel(url: str) -> bool:
    return url.startswith(SCHEME)


def parse(url: str) -> SentinelURL:
    """The sentinels, master name, db and passwords of a sentinel:// URL; ConfigError names what is wrong."""
    parts = urlsplit(url)
    netloc = parts.netloc
    password = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        password = unquote(userinfo.split(":", 1)[1]) if ":" in userinfo else unquote(userinfo)
    sentinels = []
    for node in filter(None, netloc.split(",")):
        host, port = node, ""
        if node.startswith("["):  # [IPv6]:port
            host, _, rest = node[1:].partition("]")
            port = rest.removeprefix(":")
        elif ":" in node:
            host, _, port = node.rpartition(":")
        try:
            sentinels.append((host, int(port) if port else DEFAULT_PORT))
        except ValueError:
            raise ConfigError(f"sentinel URL: {node!r} is not host:port") from None
    if not sentinels:
        raise ConfigError("sentinel URL names no sentinel (sentinel://host:port,host:port/db?master_name=NAME)")
    query = parse_qs(parts.query)
    master = (query.get("master_name") or [""])[0]
    if not master:
        raise ConfigError("sentinel URL needs ?master_name=NAME (the name the sentinels monitor)")
    path = parts.path.strip("/")
    try:
        db = int(path) if path else 0
    except ValueError:
        raise ConfigError(f"sentinel URL: database {path!r} is not a number") from None
    sentinel_password = (query.get("sentinel_password") or [None])[0]
    return SentinelURL(tuple(sentinels), master, db, password, sentinel_password)
