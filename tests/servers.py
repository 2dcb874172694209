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


def postgres_dir() -> tuple[str, str | None]:
    """A directory for one server; PostgreSQL refuses root, so it runs as `postgres` then."""
    base = scratch_dir("pg-")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(base, user=user)
    return base, user


def _pg_start(base: str, user: str | None, datadir: str, port: int, settings: str) -> PostgresServer:
    opts = f"-p {port} -h 127.0.0.1 -k {base} -c fsync=off -c max_connections=300 {settings}"
    _run_as(user, [_pg_bin("pg_ctl"), "-D", datadir, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start"])
    server = PostgresServer(port=port, datadir=datadir, user=user, options=opts)
    server.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return server


def start_postgres(settings: str = "-c synchronous_commit=off", conf: dict[str, str] | None = None) -> PostgresServer:
    """initdb + pg_ctl start in a temp dir, with database `brain`; `conf` goes into postgresql.conf."""
    base, user = postgres_dir()
    datadir = os.path.join(base, "data")
    _run_as(user, [_pg_bin("initdb"), "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    if conf:
        with open(os.path.join(datadir, "postgresql.conf"), "a") as out:
            out.writelines(f"{key} = '{value}'\n" for key, value in conf.items())
    server = _pg_start(base, user, datadir, free_port(), settings)
    server.url = server.create_database("brain")
    return server


def start_postgres_on(datadir: str) -> PostgresServer:
    """Start a server on an existing data directory (a restored one), as the user that owns it."""
    base = os.path.dirname(datadir)
    user = "postgres" if os.geteuid() == 0 else None
    return _pg_start(base, user, datadir, free_port(), "")


@dataclass
class PostgresPair:
    """A primary streaming to a hot standby (pg_basebackup -R), synchronously or not."""

    primary: PostgresServer
    standby: PostgresServer
    synchronous: bool

    def url(self, name: str) -> str:
        """Database `name` on whichever of the two accepts writes (libpq tries both hosts in order)."""
        hosts = "&".join(f"host=127.0.0.1:{server.port}" for server in (self.primary, self.standby))
        return f"postgresql+psycopg2://postgres@/{name}?{hosts}&target_session_attrs=read-write"

    def kill_primary(self) -> None:
        """The primary's host dies: no checkpoint, no goodbye to clients."""
        _run_as(self.primary.user, [_pg_bin("pg_ctl"), "-D", self.primary.datadir, "-m", "immediate", "stop"])

    def promote(self) -> None:
        _run_as(self.standby.user, [_pg_bin("pg_ctl"), "-D", self.standby.datadir, "-w", "promote"])

    def stop(self) -> None:
        self.standby.stop()
        self.primary.stop()


def start_postgres_pair(synchronous: bool) -> PostgresPair:
    """Primary + hot standby on loopback; with `synchronous`, a commit returns once the standby has it."""
    commit = "-c synchronous_commit=on" if synchronous else "-c synchronous_commit=local"
    primary = start_postgres(f"-c wal_level=replica -c max_wal_senders=5 {commit}")
    base, user = postgres_dir()
    datadir = os.path.join(base, "data")
    _run_as(
        user,
        [
            _pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            datadir,
            "-R",
            "-X",
            "stream",
            "--no-sync",
        ],
    )
    standby = _pg_start(base, user, datadir, free_port(), "-c hot_standby=on")
    import psycopg2

    conn = psycopg2.connect(primary.admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        if synchronous:
            cur.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            cur.execute("SELECT pg_reload_conf()")

        def streaming() -> bool:
            cur.execute("SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'")
            row = cur.fetchone()
            return bool(row) and (row[0] == "sync" or not synchronous)

        wait_for(streaming, 30, 0.2, what="the standby to stream")
    conn.close()
    return PostgresPair(primary, standby, synchronous)


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


@dataclass
class SentinelGroup:
    """A Redis master, one replica and three sentinels on loopback (quorum 2), as operators run it."""

    master_name: str
    master: RedisServer
    replica: RedisServer
    sentinel_ports: list[int]
    workdir: str
    sentinels: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The BRAiN URL of this group (BRAIN_REDIS_URL / BRAIN_BROKER_URL)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"sentinel://{hosts}/0?master_name={self.master_name}"

    def master_port(self) -> int | None:
        """The master's port as the sentinels name it now (None while they cannot say)."""
        for port in self.sentinel_ports:
            try:
                found = redis.Redis(port=port, socket_timeout=1).sentinel_get_master_addr_by_name(self.master_name)
            except redis.RedisError:
                continue
            if found:
                return int(found[1])
        return None

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.sentinels:
            proc.wait(10)
        for server in (self.master, self.replica):
            server.stop()


def start_sentinel_group(master_name: str = "brain") -> SentinelGroup:
    """Master + replica (REPLICAOF) + three sentinels that mark the master down after 1 s."""
    workdir = scratch_dir("sentinel-")
    master = RedisServer(port=free_port(), workdir=scratch_dir("redis-master-"))
    master.start()
    replica = RedisServer(port=free_port(), workdir=scratch_dir("redis-replica-"))
    replica.start()
    replica.client().replicaof("127.0.0.1", master.port)
    wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", 20, what="replica sync")
    group = SentinelGroup(master_name, master, replica, [free_port() for _ in range(3)], workdir)
    for port in group.sentinel_ports:
        config = os.path.join(workdir, f"sentinel-{port}.conf")
        with open(config, "w") as out:
            out.write(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {master_name} 127.0.0.1 {master.port} 2\n"
                f"sentinel down-after-milliseconds {master_name} 1000\n"
                f"sentinel failover-timeout {master_name} 10000\n"
                f"sentinel parallel-syncs {master_name} 1\n"
            )
        group.sentinels.append(
            subprocess.Popen(
                [redis_server_binary(), config, "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    wait_for(lambda: group.master_port() == master.port, 20, what="sentinels to agree on the master")

    def replicas_known() -> bool:
        try:
            return all(
                int(redis.Redis(port=p, socket_timeout=1).sentinel_master(master_name)["num-other-sentinels"]) == 2
                for p in group.sentinel_ports
            )
        except redis.RedisError:
            return False

    wait_for(replicas_known, 30, what="the sentinels to find each other")
    return group


@dataclass
class Nginx:
    """nginx on loopback in front of several API ports: a load balancer as deployments run one."""

    port: int
    prefix: str
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_nginx(upstream_ports: list[int]) -> Nginx:
    """Round robin over `upstream_ports`; a refused connection or a 502/503 goes to the next one.

    `non_idempotent` lets a POST go to the next API too: the drill's requests carry an
    Idempotency-Key, so a request an API took before it went away is answered once.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = scratch_dir("nginx-")
    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in upstream_ports)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as out:
        out.write(
            f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  upstream brain {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://brain;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 4;
      proxy_connect_timeout 2s;
    }}
  }}
}}
"""
        )
    proc = subprocess.Popen([binary, "-p", prefix, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = Nginx(port, prefix, proc)
    wait_for(lambda: _accepts(port) or proc.poll() is not None, 10, what="nginx")
    assert proc.poll() is None, open(os.path.join(prefix, "error.log")).read()
    return nginx


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
