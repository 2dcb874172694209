"""A rolling restart of every process under load: two APIs behind nginx, then two worker nodes, one at a
time. No request fails (each gets its 202), no mission is lost, none runs twice."""

from __future__ import annotations

import collections
import signal
import time

import pytest

from tests.load import Load, assert_ran_once
from tests.servers import free_port, start_nginx
from tests.stack import make_stack

pytestmark = [pytest.mark.e2e, pytest.mark.standard]


def test_a_rolling_restart_of_every_process_fails_no_request_and_loses_no_mission(request, tmp_path):
    stack = make_stack("standard", request, "rolling_restart")
    balancer = None
    try:
        ports = [free_port(), free_port()]
        apis = [stack.start_api(port)[0] for port in ports]
        balancer = start_nginx(ports)
        workers = [stack.start_worker(concurrency=2) for _ in range(2)]
        runs = tmp_path / "runs.txt"
        body = lambda: {"name": "r", "agent": "test.count", "payload": {"file": str(runs), "seconds": 0.5}}  # noqa: E731
        with Load(stack, body, rate=10, url=balancer.url, idempotent=True) as load:
            time.sleep(3)
            for i, port in enumerate(ports):  # the APIs, one at a time: the balancer sends to the other
                apis[i].popen.send_signal(signal.SIGTERM)
                assert apis[i].popen.wait(60) == 0, apis[i].tail()
                apis[i] = stack.start_api(port)[0]
                time.sleep(2)
            for i in range(len(workers)):  # then the worker nodes: running missions finish, the rest wait
                workers[i].popen.send_signal(signal.SIGTERM)
                assert workers[i].popen.wait(90) == 0, workers[i].tail()
                workers[i] = stack.start_worker(concurrency=2)
                time.sleep(2)
            time.sleep(3)
        codes = collections.Counter(status for status, _, _ in load.answers)
        print(f"\nrolling restart: {dict(codes)} answers, {len(load.errors)} errors while 4 processes restarted")
        assert set(codes) == {202} and not load.errors, (codes, load.errors[:5])
        assert_ran_once(stack, load.accepted(), runs)
    finally:
        stack.stop()
        if balancer:
            balancer.stop()
