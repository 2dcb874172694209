"""A running BRAiN for end-to-end tests: API (gunicorn), worker nodes and beat as processes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.processes import REPO, Proc, run_brain, scratch_dir, spawn
from tests.servers import free_port, wait_for

# The profiles every end-to-end test runs on (full and enterprise add what standard has no test for).
PROFILES = ("minimal", "standard")
# Every stack verifies HS256 tokens with this secret; requests through Stack carry an admin token.
JWT_SECRET = "brain-e2e-jwt-secret-0123456789abcdef0123456789"
FINAL = {"succeeded", "failed", "timed_out", "cancelled", "rejected", "expired", "over_budget"}


@dataclass
class Stack:
    """One profile's processes sharing one database and one Redis."""

    profile: str
    env: dict[str, str]
    data_dir: str
    procs: list[Proc] = field(default_factory=list)
    api_url: str = ""
    known_tenants: set[str] = field(default_factory=set)
    owner_database_url: str = ""  # set once the stack's processes log in as an app role instead

    @classmethod
    def create(
        cls, profile: str, database_url: str | None = None, redis_url: str | None = None, **overrides: str
    ) -> Stack:
        data_dir = scratch_dir("bt-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAIN_", "PROMETHEUS_", "NEURORAIL_"))}
        env.update(
            {
                "BRAIN_PROFILE": profile,
                "BRAIN_DATA_DIR": data_dir,
                "PYTHONPATH": str(REPO),
                "BRAIN_AGENT_MODULES": "tests.agents",
                "BRAIN_LEASE_TTL_S": "3",
                "BRAIN_SWEEP_INTERVAL_S": "1",
                "BRAIN_MAX_TIMEOUT_S": "120",
                "BRAIN_TIME_LIMIT_GRACE_S": "2",
                "BRAIN_API_WORKERS": "2",
                "BRAIN_LOG_LEVEL": "INFO",
                "BRAIN_JWT_SECRET": JWT_SECRET,
                "BRAIN_API_TOKEN": mint_token("e2e-admin", roles=("admin",), ttl_s=86400),
                # Limits far above what the suite sends; tests of the limits start their own APIs.
                "BRAIN_RATE_LIMIT_GLOBAL": "10000/second",
                "BRAIN_RATE_LIMIT_BURST": "20000",
                "BRAIN_RATE_LIMIT_SUBMIT": "100000/minute",
                "BRAIN_RATE_LIMIT_TENANT": "1000000/minute",
                "BRAIN_RATE_LIMIT_USER": "1000000/minute",
            }
        )
        if database_url:
            env["BRAIN_DATABASE_URL"] = database_url
        if redis_url:
            env["BRAIN_REDIS_URL"] = redis_url
        env.update(overrides)
        stack = cls(profile=profile, env=env, data_dir=data_dir)
        stack.brain("db", "upgrade")
        return stack

    # processes ---------------------------------------------------------------
    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = spawn(name, args, env or self.env, Path(self.data_dir) / f"{name}-{uuid.uuid4().hex[:6]}.log")
        self.procs.append(proc)
        return proc

    def brain(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        return run_brain(*args, env=env or self.env, check=check, timeout=timeout)

    def start_api(self, port: int | None = None, **overrides: str) -> tuple[Proc, str]:
        """An API process on `port` (a free one by default); waits until it answers."""
        port = port or free_port()
        env = {**self.env, "BRAIN_API_PORT": str(port), **overrides}
        proc = self.spawn("api", [sys.executable, "-m", "brain.cli", "api"], env)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _live(url) or _dead(proc), 60, what=f"API on {url}")
        assert proc.alive(), proc.tail()
        if not self.api_url:
            self.api_url = url
        return proc, url

    def start_worker(
        self,
        concurrency: int = 2,
        name: str | None = None,
        pool: str = "prefork",
        queues: str | None = None,
        **overrides: str,
    ) -> Proc:
        node = name or f"w{uuid.uuid4().hex[:6]}"
        env = {**self.env, "BRAIN_WORKER_METRICS_PORT": str(free_port()), **overrides}
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "brain",
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-n",
            f"{node}@%h",
            *(["-Q", queues] if queues else []),
            "-l",
            "info",
            "--without-mingle",
            "--without-gossip",
        ]
        proc = self.spawn(f"worker-{node}", args, env)
        proc.metrics_port = int(env["BRAIN_WORKER_METRICS_PORT"])  # type: ignore[attr-defined]
        wait_for(lambda: "ready." in proc.tail(200) or _dead(proc), 60, what=f"worker {node}")
        assert proc.alive(), proc.tail()
        return proc

    def start_beat(self) -> Proc:
        schedule = os.path.join(self.data_dir, "beat-schedule")
        return self.spawn("beat", [sys.executable, "-m", "celery", "-A", "brain", "beat", "-s", schedule, "-l", "info"])

    @contextmanager
    def serving(self, concurrency: int = 2, **api_env: str) -> Iterator[Stack]:
        """API + one prefork worker node + beat for the block; every process stopped after it."""
        try:
            self.start_api(**api_env)
            self.start_worker(concurrency=concurrency)
            self.start_beat()
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        # Signal every process first, then wait: shutdowns overlap instead of queueing.
        for proc in self.procs:
            if proc.alive():
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.procs):
            proc.stop()
        if self.profile == "minimal":
            from brain.embedded_redis import stop

            stop(self.data_dir)

    @property
    def database_url(self) -> str:
        """What the stack's API and workers connect with."""
        return self.env.get("BRAIN_DATABASE_URL") or f"sqlite:///{self.data_dir}/brain.db"

    @property
    def admin_database_url(self) -> str:
        """What the test reads and seeds with: the owner's URL, which row-level security does not hold."""
        return self.owner_database_url or self.database_url

    def log_in_as(self, database_url: str) -> None:
        """Processes started from now on connect as another role (the schema was migrated as the owner)."""
        self.owner_database_url = self.owner_database_url or self.database_url
        self.env["BRAIN_DATABASE_URL"] = database_url

    def ensure_tenant(self, tenant: str) -> None:
        """An active tenant record for `tenant` (a multi-tenant API refuses tokens naming unknown tenants)."""
        from sqlalchemy import create_engine
        from sqlalchemy.exc import IntegrityError
        from sqlalchemy.orm import Session

        from brain.errors import Conflict
        from brain.tenancy import tenants

        if tenant in self.known_tenants:
            return
        # Its own engine, disposed after: a pooled connection of the test process would keep
        # the stack's database from being dropped when the next stack reuses its name.
        engine = create_engine(self.admin_database_url)
        try:
            with Session(engine) as session, session.begin():
                # enterprise: no per-tenant limits beyond the suite's own (tests of limits set theirs)
                tenants.create(session, tenant, tenant, plan="enterprise", actor="e2e")
        except (Conflict, IntegrityError):
            pass  # there already (another test, or an earlier run on this stack)
        finally:
            engine.dispose()
        self.known_tenants.add(tenant)

    # HTTP --------------------------------------------------------------------
    def token(
        self, sub: str = "e2e-admin", tenant: str = "default", roles: tuple[str, ...] = ("admin",), ttl_s: int = 3600
    ) -> str:
        """A bearer token this stack accepts (on a multi-tenant stack its tenant is created when new)."""
        if tenant != "default" and self.env.get("BRAIN_MULTI_TENANCY") == "true":
            self.ensure_tenant(tenant)
        return mint_token(sub, tenant=tenant, roles=roles, ttl_s=ttl_s)

    def request(
        self, method: str, path: str, url: str | None = None, token: str | None = "", **kwargs: Any
    ) -> requests.Response:
        """HTTP to the API with the stack's admin token (or `token=`; `token=None` sends none)."""
        kwargs.setdefault("timeout", 30)
        headers = dict(kwargs.pop("headers", None) or {})
        bearer = self.env["BRAIN_API_TOKEN"] if token == "" else token
        if bearer and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {bearer}"
        kwargs["headers"] = headers
        return requests.request(method, f"{url or self.api_url}{path}", **kwargs)

    def submit(self, agent: str = "echo", payload: dict | None = None, url: str | None = None, **fields: Any) -> dict:
        body = {"name": fields.pop("name", f"{agent} mission"), "agent": agent, "payload": payload or {}, **fields}
        resp = self.request("POST", "/api/missions", url=url, json=body)
        assert resp.status_code == 202, resp.text
        return resp.json()

    def mission(self, mission_id: str) -> dict:
        resp = self.request("GET", f"/api/missions/{mission_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait_status(self, mission_id: str, statuses: set[str] | str = FINAL, timeout: float = 60) -> dict:
        wanted = {statuses} if isinstance(statuses, str) else statuses
        last: dict = {}

        def reached() -> bool:
            nonlocal last
            last = self.mission(mission_id)
            return last["status"] in wanted

        try:
            wait_for(reached, timeout, 0.1, what=f"mission {mission_id} to reach {wanted}")
        except TimeoutError:
            logs = "\n".join(f"--- {p.name}\n{p.tail(30)}" for p in self.procs)
            raise AssertionError(f"mission stuck: {last}\n{logs}") from None
        return last

    def events(self, mission_id: str) -> list[dict]:
        """Audit events of a mission, read straight from the database."""
        from sqlalchemy import create_engine, text

        url = self.admin_database_url
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT type, data, actor FROM events WHERE mission_id = :m ORDER BY id"),
                    {"m": mission_id if url.startswith("postgres") else uuid.UUID(mission_id).hex},
                ).all()
        finally:
            engine.dispose()
        return [{"type": r[0], "data": r[1], "actor": r[2]} for r in rows]


def mint_token(
    sub: str,
    tenant: str = "default",
    roles: tuple[str, ...] = ("admin",),
    ttl_s: int = 3600,
    secret: str = JWT_SECRET,
    **claims: Any,
) -> str:
    import time

    import jwt

    now = int(time.time())
    body = {"sub": sub, "tenant": tenant, "roles": list(roles), "iat": now, "exp": now + ttl_s, **claims}
    return jwt.encode(body, secret, algorithm="HS256")


def _live(url: str) -> bool:
    try:
        return requests.get(f"{url}/health/live", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _dead(proc: Proc) -> bool:
    return not proc.alive()


_redis_dbs = itertools.cycle(range(2, 16))


def make_stack(
    profile: str, request: pytest.FixtureRequest, db_name: str, shared: bool = False, **overrides: str
) -> Stack:
    """A stack on its own database and, on standard, its own emptied Redis db number."""
    if profile == "standard":
        pg = request.getfixturevalue("postgres")
        redis_server = request.getfixturevalue("redis_server")
        # db 1 belongs to the shared stack; private stacks live one at a time in 2..15.
        db_index = 1 if shared else next(_redis_dbs)
        redis.Redis(port=redis_server.port, db=db_index).flushdb()
        stack = Stack.create(
            profile,
            database_url=pg.create_database(db_name),
            redis_url=f"redis://127.0.0.1:{redis_server.port}/{db_index}",
            **overrides,
        )
        if overrides.get("BRAIN_MULTI_TENANCY") == "true":
            stack.log_in_as(pg.app_role_url(db_name))  # as in production: a role RLS holds
    else:
        stack = Stack.create(profile, **overrides)
    return stack
