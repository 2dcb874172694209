"""Graceful shutdown for deploys: SIGTERM to a worker node lets its running missions finish and hands
the rest to the next node, none lost, none run twice."""

from __future__ import annotations

import signal

import pytest

from tests.load import assert_ran_once, starts, statuses
from tests.servers import wait_for
from tests.stack import make_stack

pytestmark = [pytest.mark.e2e, pytest.mark.standard]


def test_sigterm_to_a_worker_finishes_its_running_missions_and_the_next_node_runs_the_rest(request, tmp_path):
    stack = make_stack("standard", request, "shutdown_worker")
    try:
        stack.start_api()
        leaving = stack.start_worker(concurrency=2)
        runs = tmp_path / "runs.txt"
        ids = [stack.submit("test.count", {"file": str(runs), "seconds": 3})["id"] for _ in range(6)]
        wait_for(lambda: list(statuses(stack, ids).values()).count("running") == 2, 30, what="two missions running")
        running = [mission_id for mission_id, status in statuses(stack, ids).items() if status == "running"]
        leaving.popen.send_signal(signal.SIGTERM)  # Celery's warm shutdown: finish what runs, take nothing new
        assert leaving.popen.wait(60) == 0, leaving.tail()
        after = statuses(stack, ids)
        assert all(after[mission_id] == "succeeded" for mission_id in running), after
        assert set(starts(runs)) == set(running)  # nothing else started on the leaving node
        stack.start_worker(concurrency=2)  # the next node (a deploy's new version)
        assert_ran_once(stack, ids, runs, timeout=90)
    finally:
        stack.stop()
