"""Everything the bench runs against: throw-away PostgreSQL and Redis, BRAiN's API and workers, the peer."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg2
import redis
import requests

from bench.procs import REPO, Proc, spawn, wait_http, wait_worker_ready
from brain.dispatch import MISSION_QUEUES, queue_keys
from tests.processes import run_brain
from tests.servers import PostgresServer, RedisServer, free_port, start_postgres, start_redis

BRAIN_BODY = {"name": "bench", "agent": "echo", "payload": {"msg": "hello"}}
# Rate limits stay on (their Redis round trips are part of the measured path) but far above
# what one load generator on one IP sends, so no request is refused for being too many.
UNTHROTTLED = {
    "BRAIN_RATE_LIMIT_GLOBAL": "10000000/second",
    "BRAIN_RATE_LIMIT_BURST": "1000000000",
    "BRAIN_RATE_LIMIT_SUBMIT": "10000000/second",
    "BRAIN_RATE_LIMIT_TENANT": "10000000/second",
    "BRAIN_RATE_LIMIT_USER": "10000000/second",
}
PEER_DB = 1  # the peer's Redis database; BRAiN uses 0


@dataclass
class Stack:
    pg: PostgresServer
    redis_server: RedisServer
    data_dir: str
    env: dict[str, str]
    token: str = ""
    auth_note: str = ""
    procs: list[Proc] = field(default_factory=list)

    # setup ------------------------------------------------------------------
    @classmethod
    def start(cls, extra_env: dict[str, str] | None = None) -> Stack:
        pg = start_postgres()
        rs = start_redis()
        data_dir = tempfile.mkdtemp(prefix="brain-bench-", dir="/tmp")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAIN_", "PROMETHEUS_", "NEURORAIL_"))}
        env.update(
            {
                "BRAIN_PROFILE": "standard",
                "BRAIN_DATA_DIR": data_dir,
                "BRAIN_DATABASE_URL": pg.url,
                "BRAIN_REDIS_URL": rs.url,
                "BRAIN_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO),
                "PEER_REDIS_URL": f"redis://127.0.0.1:{rs.port}/{PEER_DB}",
                **UNTHROTTLED,
                **(extra_env or {}),
            }
        )
        stack = cls(pg=pg, redis_server=rs, data_dir=data_dir, env=env)
        stack.brain("db", "upgrade")
        stack._setup_auth()
        return stack

    def brain(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return run_brain(*args, env=env or self.env, check=check)

    def _setup_auth(self) -> None:
        """Mint a token with `brain token issue` when that exists; else run with auth off (and say so)."""
        self.env.setdefault("BRAIN_JWT_SECRET", secrets.token_hex(32))
        if self.brain("token", "issue", "--help", check=False).returncode == 0:
            for args in (
                ("token", "issue", "--sub", "bench", "--role", "operator", "--ttl", "1d"),
                ("token", "issue", "--sub", "bench"),
            ):
                done = self.brain(*args, check=False)
                lines = [ln.strip() for ln in done.stdout.splitlines() if ln.strip()]
                if done.returncode == 0 and lines:
                    self.token = lines[-1].split()[-1]
                    self.auth_note = f"auth on (token from `brain {' '.join(args)}`)"
                    return
        self.env["BRAIN_AUTH_REQUIRED"] = "false"
        self.auth_note = "auth off: no `brain token issue` command to mint a token yet"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def stop(self, keep_logs: bool = False) -> None:
        """Stop everything; the data directory (process logs) goes too unless `keep_logs`."""
        for proc in reversed(self.procs):
            proc.stop()
        self.redis_server.stop()
        self.pg.stop()
        shutil.rmtree(self.redis_server.workdir, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # processes --------------------------------------------------------------
    def start_api(self, name: str = "api", **overrides: str) -> tuple[Proc, str]:
        port = free_port()
        env = {**self.env, "BRAIN_API_PORT": str(port), **overrides}
        proc = spawn(name, [sys.executable, "-m", "brain.cli", "api"], env, self.data_dir)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(proc, f"{url}/health/live")
        return proc, url

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 2,
        pool: str = "prefork",
        queues: str | None = None,
        **overrides: str,
    ) -> Proc:
        env = {**self.env, "BRAIN_WORKER_METRICS_PORT": str(free_port()), **overrides}
        args = [
            sys.executable,
            "-m",
            "brain.cli",
            *_worker_args(concurrency, name, pool),
            *(["-Q", queues] if queues else []),
        ]
        proc = spawn(name, args, env, self.data_dir)
        self.procs.append(proc)
        wait_worker_ready(proc)
        return proc

    def start_peer_api(self) -> tuple[Proc, str]:
        port = free_port()
        env = {**self.env, "PEER_PORT": str(port)}
        args = [sys.executable, "-m", "gunicorn", "-c", "python:bench.peer.gunicorn_conf", "bench.peer.app:app"]
        proc = spawn("peer-api", args, env, self.data_dir)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(proc, f"{url}/health")
        return proc, url

    def start_peer_worker(self, concurrency: int = 2) -> Proc:
        args = [sys.executable, "-m", "celery", "-A", "bench.peer.tasks", *_worker_args(concurrency, "peer")]
        proc = spawn("peer-worker", args, self.env, self.data_dir)
        self.procs.append(proc)
        wait_worker_ready(proc)
        return proc

    # state ------------------------------------------------------------------
    def sql(self, statement: str, params: tuple | dict = (), fetch: bool = True) -> list[tuple]:
        conn = psycopg2.connect(self.pg.url.replace("+psycopg2", ""))
        conn.autocommit = True  # one statement, one transaction; VACUUM needs it
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if fetch and cur.description else []
        finally:
            conn.close()

    def broker(self) -> redis.Redis:
        return redis.Redis(port=self.redis_server.port, db=0)

    def peer_redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_server.port, db=PEER_DB)

    def clear_queues(self) -> None:
        """Drop every queued message (BRAiN's and the peer's) so a scenario starts from empty."""
        self.broker().delete(*[key for queue in MISSION_QUEUES for key in queue_keys(queue)])
        peer = self.peer_redis()
        peer.delete("celery", *[f"celery\x06\x16{p}" for p in range(10)])

    def submit_many(self, url: str, path: str, body: dict, count: int, threads: int = 16) -> int:
        """POST body count times over keep-alive connections; returns how many got 202."""
        per = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]

        def post(n: int) -> int:
            ok = 0
            with requests.Session() as session:
                session.headers.update(self.headers())
                for _ in range(n):
                    ok += session.post(f"{url}{path}", json=body, timeout=30).status_code == 202
            return ok

        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(post, per))


def _worker_args(concurrency: int, name: str, pool: str = "prefork") -> list[str]:
    """The same worker options for BRAiN and the peer, so the comparison is like for like."""
    return [
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "-l",
        "info",
        "--without-mingle",
        "--without-gossip",
    ]
