"""brain.green: the soft limit of the gevent mode interrupts a blocked socket read; on prefork it does nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from brain import green
from tests.processes import REPO


def test_outside_a_gevent_process_the_soft_limit_is_left_to_billiard():
    assert not green.active()
    with green.soft_limit(0.001):
        pass  # no timer: prefork's soft limit is billiard's signal


def test_in_a_gevent_process_the_soft_limit_interrupts_a_read_that_never_returns():
    script = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import socket
        from billiard.exceptions import SoftTimeLimitExceeded
        from brain import green

        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
        client = socket.create_connection(server.getsockname())
        client.settimeout(None)
        assert green.active()
        try:
            with green.soft_limit(0.2):
                client.recv(1)
        except SoftTimeLimitExceeded as exc:
            print("interrupted:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("interrupted:") and "soft time limit (0.2 s) exceeded" in out.stdout
