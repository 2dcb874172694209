"""The policy store keeps the last good set and notices edited files."""

from __future__ import annotations

import os

import pytest

from brain.governance.store import PoliciesUnavailable, PolicyStore


def test_a_broken_edit_keeps_the_last_good_set_and_a_fix_is_picked_up(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {id: a, effect: allow}\n")
    store = PolicyStore(tmp_path)
    good = store.current()
    path.write_text("rules:\n  - {id: a, effect: nope}\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert store.current() is good
    assert store.problems and store.problems[0].field == "effect"
    path.write_text("rules:\n  - {id: a, effect: deny}\n")
    fixed = store.current()
    assert fixed.version != good.version and not store.problems
    assert fixed.rules[0].effect == "deny"


def test_no_valid_set_ever_fails_closed(tmp_path):
    (tmp_path / "p.yaml").write_text("rules: 3\n")
    with pytest.raises(PoliciesUnavailable):
        PolicyStore(tmp_path).current()


def test_concurrent_first_requests_all_see_the_policy_set(tmp_path):
    """Threads arriving while the first load is under way wait for it: no 503 at start-up."""
    import shutil
    import threading

    from brain.governance.store import PolicyStore, default_policies_dir

    for f in default_policies_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    store = PolicyStore(tmp_path)
    errors: list[Exception] = []
    start = threading.Barrier(16)

    def first_request() -> None:
        start.wait()
        try:
            store.current()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=first_request) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
