"""Throw-away PostgreSQL and Redis servers on free loopback ports, started by the tests."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

import redis

from tests.processes import scratch_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"PostgreSQL's {name} not found; run tests/run.sh, which installs it")
    return candidates[-1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    from brain.embedded_redis import redis_server_binary as bundled

    return bundled()


# Multi-tenant stacks' API and workers log in as this member of brain_app, never as the owner.
APP_LOGIN_ROLE = "brain_app_e2e"


@dataclass
class PostgresServer:
    port: int
    datadir: str
    user: str | None
    url: str = ""
    admin_url: str = ""
    options: str = ""

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def app_role_url(self, name: str) -> str:
        """Database `name` as a login role in brain_app (migration 0006): what row-level security holds."""
        import psycopg2
        from psycopg2 import errors

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE ROLE {APP_LOGIN_ROLE} LOGIN IN ROLE brain_app")
        except errors.DuplicateObject:
            pass  # made for an earlier stack: roles belong to the cluster, not a database
        finally:
            conn.close()
        return f"postgresql+psycopg2://{APP_LOGIN_ROLE}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        _run_as(self.user, [_pg_bin("pg_ctl"), "-D", self.datadir, "-m", "immediate", "stop"], check=False)
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)

    def pause(self) -> None:
        """Stop the server (an outage), keeping its data for resume()."""
        _run_as(self.user, [_pg_bin("pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        log = os.path.join(os.path.dirname(self.datadir), "log")
        _run_as(self.user, [_pg_bin("pg_ctl"), "-D", self.datadir, "-o", self.options, "-l", log, "-w", "start"])


def _run_as(user: str | None, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    return subprocess.run(args, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start in a temp dir; PostgreSQL refuses root, so run as `postgres` then."""
    base = scratch_dir("pg-")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(base, user=user)
    datadir = os.path.join(base, "data")
    port = free_port()
    _run_as(user, [_pg_bin("initdb"), "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    opts = f"-p {port} -h 127.0.0.1 -k {base} -c fsync=off -c synchronous_commit=off -c max_connections=300"
    _run_as(user, [_pg_bin("pg_ctl"), "-D", datadir, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start"])
    server = PostgresServer(port=port, datadir=datadir, user=user, options=opts)
    server.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    server.url = server.create_database("brain")
    return server


@dataclass
class RedisServer:
    port: int
    workdir: str
    proc: subprocess.Popen | None = None
    url: str = field(init=False, default="")
    # A broker in production keeps its queues across a restart (append-only file).
    persistent: bool = False

    def __post_init__(self) -> None:
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client), 10, what="redis-server")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def start_redis(persistent: bool = False) -> RedisServer:
    server = RedisServer(port=free_port(), workdir=scratch_dir("redis-"), persistent=persistent)
    server.start()
    return server
