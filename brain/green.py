"""The I/O-bound execution mode: missions as greenlets on Celery's gevent pool, with their limits enforced."""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator

from billiard.exceptions import SoftTimeLimitExceeded
from gevent import Timeout
from gevent.monkey import is_module_patched
from kombu.utils import eventio
from psycogreen.gevent import patch_psycopg


def active() -> bool:
    """True in a process `celery … -P gevent` started: Celery monkey-patched it before importing BRAiN."""
    return is_module_patched("socket")


def make_cooperative() -> None:
    """Make what would block the whole node wait on the gevent hub instead: psycopg2, kombu's select.

    kombu's poller holds `select.select` from import time, and Celery's patching imports kombu
    before it patches `select` (its lazy `celery` module is walked while patching): unfixed, the
    consumer loop blocks the hub up to 2 s per turn and every mission of the node waits with it.
    """
    if active():
        patch_psycopg()
        eventio._selectf = select.select


@contextlib.contextmanager
def soft_limit(seconds: float) -> Iterator[None]:
    """Raise SoftTimeLimitExceeded inside the agent after `seconds`, as prefork's SIGUSR1 does.

    On prefork this is a no-op (billiard signals the child). Celery's gevent pool enforces
    the hard limit itself (a gevent.Timeout around the task, a BaseException an agent's
    `except Exception` cannot swallow) but has no soft limit; this is it. Both interrupt a
    greenlet wherever it waits on I/O, including a socket read without a timeout; neither
    can interrupt a greenlet that computes without yielding (CPU-bound agents belong on prefork).
    """
    if not active():
        yield
        return
    with Timeout(max(seconds, 0.001), SoftTimeLimitExceeded(f"soft time limit ({seconds:.1f} s) exceeded")):
        yield
