"""`brain api|worker|beat|flower|up`: start BRAiN's processes for the active profile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from brain import metrics_dir, schema
from brain.config import Settings, get_settings, set_settings
from brain.embedded_redis import ensure_running, stop
from brain.flower import env as flower_env
from brain.tenancy.db_role import require_isolating_role

PASS_THROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}
PORT = click.IntRange(0, 65535)


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "brain", *args]


def _settings_with(**env: object) -> Settings:
    """Settings after command-line options, which travel as their environment variables.

    The processes started from here (gunicorn, celery, Flower) read the same variables, so
    an option means exactly what its variable means, and is validated the same way.
    """
    for name, value in env.items():
        if value is not None:
            os.environ[name] = str(value)
    set_settings(None)
    return get_settings()


def _api_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_conf", "api.wsgi:app"]


def _api_env() -> dict[str, str]:
    # A fresh multiprocess directory per API instance: /metrics sums its workers only.
    env = dict(os.environ)
    env[metrics_dir.ENV] = env[metrics_dir.MADE_FOR_EXEC] = metrics_dir.fresh("api")
    return env


def _prepare(settings: Settings, migrate: bool) -> bool:
    """Start the embedded Redis if the profile uses it; migrate SQLite if asked."""
    started = False
    if settings.embedded_redis:
        _, started = ensure_running(settings.data_dir)
    if migrate:
        schema.upgrade(settings.database_url)
    else:
        schema.require_current(settings.database_url)
        require_isolating_role(settings.database_url, settings.multi_tenancy)
    return started


def _api_options(fn):
    fn = click.option("--threads", type=click.IntRange(1, 64), help="Threads per API process (BRAIN_API_THREADS).")(fn)
    fn = click.option(
        "--workers", type=click.IntRange(1, 64), help="API (gunicorn) worker processes (BRAIN_API_WORKERS)."
    )(fn)
    fn = click.option("--port", type=PORT, help="Port the API listens on (BRAIN_API_PORT).")(fn)
    fn = click.option("--host", help="Address the API binds to (BRAIN_API_HOST).")(fn)
    return fn


@click.command(context_settings=PASS_THROUGH)
@_api_options
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def api(
    host: str | None, port: int | None, workers: int | None, threads: int | None, gunicorn_args: tuple[str, ...]
) -> None:
    """Run the HTTP API under gunicorn (further arguments go to gunicorn)."""
    settings = _settings_with(
        BRAIN_API_HOST=host, BRAIN_API_PORT=port, BRAIN_API_WORKERS=workers, BRAIN_API_THREADS=threads
    )
    _prepare(settings, migrate=False)
    os.execvpe(sys.executable, [*_api_command(), *gunicorn_args], _api_env())


@click.command(context_settings=PASS_THROUGH)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker node (extra arguments go to `celery worker`, e.g. -c 10)."""
    settings = get_settings()
    _prepare(settings, migrate=False)
    os.execv(sys.executable, _celery("worker", *celery_args))


@click.command(context_settings=PASS_THROUGH)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Run Celery beat (optional: every worker node already sweeps under a leader lease)."""
    settings = get_settings()
    schedule = os.path.join(settings.data_dir, "celerybeat-schedule")
    os.makedirs(settings.data_dir, exist_ok=True)
    os.execv(sys.executable, _celery("beat", "-s", schedule, *celery_args))


@click.command()
@_api_options
@click.option(
    "-c", "--concurrency", type=click.IntRange(1, 512), help="Mission worker processes (MISSION_WORKER_COUNT)."
)
def up(host: str | None, port: int | None, workers: int | None, threads: int | None, concurrency: int | None) -> None:
    """All in one: migrate (minimal), embedded Redis, the API and one worker node (which also sweeps)."""
    settings = _settings_with(
        BRAIN_API_HOST=host,
        BRAIN_API_PORT=port,
        BRAIN_API_WORKERS=workers,
        BRAIN_API_THREADS=threads,
        MISSION_WORKER_COUNT=concurrency,
    )
    started_redis = _prepare(settings, migrate=settings.profile == "minimal")
    # A person watches this terminal: human-readable lines unless told otherwise.
    os.environ.setdefault("BRAIN_LOG_FORMAT", "console")
    children = {
        "api": subprocess.Popen(_api_command(), env=_api_env()),
        "worker": subprocess.Popen(_celery("worker", "-c", str(settings.worker_count), "-l", "info")),
    }
    base = f"http://{settings.api_host}:{settings.api_port}"
    click.echo(
        f"BRAiN ({settings.profile}) is starting:\n"
        f"  API        {base}/api/missions\n"
        f"  docs       {base}/api/docs\n"
        f"  health     {base}/health/ready\n"
        f"  metrics    {base}/metrics and http://{settings.worker_metrics_host}:{settings.worker_metrics_port}/metrics\n"
        "Ctrl-C stops everything."
    )
    _supervise(children)
    if started_redis:
        stop(settings.data_dir)


def _supervise(children: dict[str, subprocess.Popen]) -> None:
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stopping and all(p.poll() is None for p in children.values()):
        time.sleep(0.2)
    for name, proc in children.items():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        elif not stopping:
            click.echo(f"brain up: {name} exited with {proc.returncode}; stopping", err=True)
    deadline = time.monotonic() + 20
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


@click.command(context_settings=PASS_THROUGH)
@click.option("--host", help="Address Flower binds to (BRAIN_FLOWER_ADDRESS).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port Flower listens on (BRAIN_FLOWER_PORT).")
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(host: str | None, port: int | None, flower_args: tuple[str, ...]) -> None:
    """Run Flower for this profile's broker: basic auth, loopback unless told otherwise."""
    # An option on the command line wins over Flower's own FLOWER_* variables too.
    settings = _settings_with(BRAIN_FLOWER_ADDRESS=host, BRAIN_FLOWER_PORT=port, FLOWER_ADDRESS=host, FLOWER_PORT=port)
    if settings.embedded_redis:
        ensure_running(settings.data_dir)
    # Options travel as FLOWER_* variables: a password never shows in `ps`.
    os.execve(sys.executable, _celery("flower", *flower_args), flower_env(settings))


COMMANDS = (api, worker, beat, flower, up)
