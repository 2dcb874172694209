"""Locks that a forked child gets back unlocked.

The prefork pool forks replacement children while the worker node's own threads (the sweep
leader, the heartbeat) run; a plain lock held by one of them at that instant stays locked
forever in the child, which then hangs on its first use (e.g. disposing engines after fork).
"""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType

_all: weakref.WeakSet[ForkSafeLock] = weakref.WeakSet()


class ForkSafeLock:
    """A threading.Lock replaced by a fresh one in every child process after fork."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _all.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._lock.release()

    def _renew(self) -> None:
        self._lock = threading.Lock()


def _renew_all() -> None:
    # Only the forking thread survives in the child: nobody can be holding these.
    for lock in list(_all):
        lock._renew()


os.register_at_fork(after_in_child=_renew_all)
