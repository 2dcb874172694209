"""gunicorn settings for the API; bind, workers and threads come from BRAiN settings."""

from __future__ import annotations

import ipaddress

from brain import metrics_dir

# Runs in the gunicorn master before the workers fork, so they all share one
# multiprocess directory and /metrics sums them (also when gunicorn is run directly).
metrics_dir.prepare("api")

from prometheus_client import multiprocess  # noqa: E402 - after prepare(), which it reads

from brain.config import get_settings  # noqa: E402

_s = get_settings()

bind = f"{_s.api_host}:{_s.api_port}"
workers = _s.api_workers
threads = _s.api_threads
worker_class = "api.gunicorn_worker.JsonErrorThreadWorker"
# gunicorn's largest request line: documented query strings (200-character cursors of
# multi-byte characters, percent-encoded) must reach Flask, not gunicorn's HTML 414 page.
limit_request_line = 8190
# X-Forwarded-Proto (request.is_secure → HSTS) is believed only from BRAIN_TRUSTED_PROXIES,
# not from gunicorn's default of loopback.
forwarded_allow_ips = ",".join(str(ipaddress.ip_network(p, strict=False)) for p in _s.trusted_proxies)
# No gunicornc control socket: its default is one shared path in the user's home
# ($HOME/.gunicorn/gunicorn.ctl), which two APIs on one host would overwrite.
control_socket_disable = True
keepalive = 5
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = _s.log_level.lower()


# gunicorn loads this file in the master; the app's package is imported in each worker,
# so the request hooks import it when they first run there.
def pre_request(worker, req) -> None:
    from api import connection

    connection.remember(req)


def post_request(worker, req, environ, resp) -> None:
    from api import connection

    connection.forget()


def on_exit(server) -> None:
    metrics_dir.remove_if_made_for_exec()


def child_exit(server, worker) -> None:
    # Drop a dead worker's live gauges from the summed /metrics.
    multiprocess.mark_process_dead(worker.pid)
