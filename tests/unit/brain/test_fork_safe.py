"""A lock held by another thread at fork time is free in the child (the prefork pool's replacement children)."""

from __future__ import annotations

import os
import threading

from brain import db
from brain.fork_safe import ForkSafeLock


def _in_child(held: threading.Event, release: threading.Event, lock: ForkSafeLock, work) -> int:
    """Fork while a thread holds `lock`; the child's exit status says whether `work` finished."""

    def hold() -> None:
        with lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: no thread holds anything here
        status = 1
        try:
            status = 0 if work() else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    release.set()
    thread.join()
    return os.waitstatus_to_exitcode(status)


def test_a_lock_held_by_a_thread_is_free_in_the_forked_child():
    lock = ForkSafeLock()
    assert _in_child(threading.Event(), threading.Event(), lock, lambda: lock.acquire(timeout=2)) == 0
    assert not lock.locked()


def test_disposing_engines_after_fork_does_not_hang_on_the_parents_lock():
    # The hang this fixes: the sweep thread was inside get_engine when the pool forked.
    def dispose() -> bool:
        done = threading.Event()
        threading.Thread(target=lambda: (db.dispose_engines(), done.set()), daemon=True).start()
        return done.wait(2)

    assert _in_child(threading.Event(), threading.Event(), db._lock, dispose) == 0
