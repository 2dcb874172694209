"""gunicorn settings of the peer: the same as BRAiN's api/gunicorn_conf.py with BRAiN's defaults."""

from __future__ import annotations

import os

from brain.config import SPECS

bind = f"127.0.0.1:{os.environ['PEER_PORT']}"
workers = SPECS["api_workers"].default
threads = SPECS["api_threads"].default
worker_class = "gthread"
keepalive = 5
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "warning"
