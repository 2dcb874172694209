"""`brain api|worker|beat|flower|up`: start BRAiN's processes for the active profile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import click

from brain import schema
from brain.config import Settings, get_settings
from brain.embedded_redis import ensure_running, stop

PASS_THROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "brain", *args]


def _api_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_conf", "api.wsgi:app"]


def _api_env(settings: Settings) -> dict[str, str]:
    # A fresh multiprocess directory per API instance: /metrics sums its workers only.
    env = dict(os.environ)
    env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="brain-metrics-api-")
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
    return started


@click.command(context_settings=PASS_THROUGH)
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def api(gunicorn_args: tuple[str, ...]) -> None:
    """Run the HTTP API under gunicorn (extra arguments go to gunicorn)."""
    settings = get_settings()
    _prepare(settings, migrate=False)
    os.execvpe(sys.executable, [*_api_command(settings), *gunicorn_args], _api_env(settings))


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
    """Run Celery beat: the sweeper schedule (run exactly one per deployment)."""
    settings = get_settings()
    schedule = os.path.join(settings.data_dir, "celerybeat-schedule")
    os.makedirs(settings.data_dir, exist_ok=True)
    os.execv(sys.executable, _celery("beat", "-s", schedule, *celery_args))


@click.command()
def up() -> None:
    """All in one: migrate (minimal), embedded Redis, API, one worker with the sweeper."""
    settings = get_settings()
    started_redis = _prepare(settings, migrate=settings.profile == "minimal")
    # A person watches this terminal: human-readable lines unless told otherwise.
    os.environ.setdefault("BRAIN_LOG_FORMAT", "console")
    schedule = os.path.join(settings.data_dir, "celerybeat-schedule")
    children = {
        "api": subprocess.Popen(_api_command(settings), env=_api_env(settings)),
        "worker": subprocess.Popen(
            _celery("worker", "-B", "-s", schedule, "-c", str(settings.worker_count), "-l", "info")
        ),
    }
    base = f"http://{settings.api_host}:{settings.api_port}"
    click.echo(f"BRAiN ({settings.profile}) is starting:\n"
               f"  API        {base}/api/missions\n"
               f"  docs       {base}/api/docs\n"
               f"  health     {base}/health/ready\n"
               f"  metrics    {base}/metrics and http://{settings.worker_metrics_host}:{settings.worker_metrics_port}/metrics\n"
               "Ctrl-C stops everything.")
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
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(flower_args: tuple[str, ...]) -> None:
    """Run Flower for this profile's broker: basic auth, loopback unless BRAIN_FLOWER_ADDRESS."""
    from brain.flower import env as flower_env

    settings = get_settings()
    if settings.embedded_redis:
        ensure_running(settings.data_dir)
    # Options travel as FLOWER_* variables: a password never shows in `ps`.
    os.execve(sys.executable, _celery("flower", *flower_args), flower_env(settings))


COMMANDS = (api, worker, beat, flower, up)
