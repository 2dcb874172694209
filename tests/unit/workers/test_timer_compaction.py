"""Cancelled time-limit timers leave the worker hub's heap; live ones keep their order."""

from __future__ import annotations

import heapq

from kombu.asynchronous.timer import Timer

from workers.timer_compaction import compact


def test_cancelled_entries_are_dropped_and_the_heap_stays_valid():
    timer = Timer()
    fired: list[int] = []
    entries = [timer.call_after(3600 + i, fired.append, (i,)) for i in range(100)]
    for entry in entries[::2]:
        entry.cancel()
    queue = timer._queue
    assert compact(timer) == 50
    assert timer._queue is queue and len(queue) == 50  # rewritten in place
    assert all(not item[2].canceled for item in queue)
    assert [heapq.heappop(queue)[2].args[0] for _ in range(50)] == list(range(1, 100, 2))
    assert compact(timer) == 0


def test_the_worker_runs_the_step():
    from brain.celery import app
    from workers.timer_compaction import CompactTimers

    assert CompactTimers in app.steps["worker"]
