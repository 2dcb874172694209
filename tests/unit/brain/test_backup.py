"""Restore preparation: the newest base backup before the target, recovery settings, and refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from brain import backup
from brain.errors import ConfigError

T0 = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)


def _base(root, name: str, finished: dt.datetime) -> None:
    path = root / "base" / name
    path.mkdir(parents=True)
    (path / "PG_VERSION").write_text("15\n")
    (path / "postgresql.auto.conf").write_text("# server settings\n")
    (path / "postmaster.pid").write_text("123\n")
    manifest = {"started_at": (finished - dt.timedelta(seconds=5)).isoformat(), "finished_at": finished.isoformat()}
    (path / backup.MANIFEST).write_text(json.dumps(manifest))


def test_the_newest_backup_before_the_target_is_restored_with_recovery_settings(tmp_path):
    _base(tmp_path, "a", T0)
    _base(tmp_path, "b", T0 + dt.timedelta(hours=1))
    _base(tmp_path, "c", T0 + dt.timedelta(hours=3))
    (tmp_path / "wal").mkdir()
    (tmp_path / "wal" / "000000010000000000000003").write_text("wal")
    target = T0 + dt.timedelta(hours=2)
    done = backup.prepare(tmp_path, target, tmp_path / "restored")
    assert done.base.path.name == "b"
    conf = (tmp_path / "restored" / "postgresql.auto.conf").read_text()
    assert f"restore_command = 'cp {tmp_path / 'wal'}/%f %p'" in conf
    assert f"recovery_target_time = '{target.isoformat()}'" in conf and "recovery_target_action = 'promote'" in conf
    assert (tmp_path / "restored" / "recovery.signal").exists()
    assert not (tmp_path / "restored" / "postmaster.pid").exists()
    assert not (tmp_path / "restored" / backup.MANIFEST).exists()
    assert done.last_archived is not None


def test_refusals_name_what_is_wrong(tmp_path):
    _base(tmp_path, "a", T0)
    with pytest.raises(ConfigError, match="no base backup"):
        backup.prepare(tmp_path, T0 - dt.timedelta(minutes=1), tmp_path / "r1")
    with pytest.raises(ConfigError, match="with a zone"):
        backup.prepare(tmp_path, dt.datetime(2026, 12, 7), tmp_path / "r2")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("")
    with pytest.raises(ConfigError, match="not empty"):
        backup.prepare(tmp_path, T0 + dt.timedelta(minutes=1), busy)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        backup.take("sqlite:////tmp/x.db", tmp_path)
