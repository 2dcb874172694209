"""Backups and point-in-time recovery on PostgreSQL's own tools: pg_basebackup + WAL archiving.

A backup directory holds `wal/` (filled by the server's `archive_command`) and `base/<stamp>/`
(each a plain-format `pg_basebackup` with a `brain_backup.json` manifest). Restoring to a time
copies the newest base backup finished before it into a fresh data directory and sets it to
replay the archived WAL up to that time, then promote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from brain.db import get_engine
from brain.errors import ConfigError

MANIFEST = "brain_backup.json"


def archive_settings(backup_dir: Path) -> dict[str, str]:
    """What the server's postgresql.conf needs so its WAL reaches `backup_dir/wal` (RPO ≤ archive_timeout)."""
    wal = backup_dir / "wal"
    return {
        "archive_mode": "on",
        "archive_command": f"test ! -f {wal}/%f && cp %p {wal}/%f",
        "archive_timeout": "60",
    }


def _libpq(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigError("backups are for PostgreSQL (the minimal profile's SQLite file: copy it)")
    host = url.host or url.query.get("host", "127.0.0.1")
    if isinstance(host, tuple):  # several hosts: back up the first, where the URL prefers to write
        host = host[0]
    host, _, port = str(host).partition(":")
    return {
        "host": host or "127.0.0.1",
        "port": str(url.port or port or 5432),
        "user": url.username or "postgres",
        "password": url.password or "",
    }


@dataclass
class Backup:
    path: Path
    started_at: dt.datetime
    finished_at: dt.datetime

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


def take(database_url: str, backup_dir: Path) -> Backup:
    """A base backup into `backup_dir/base/<stamp>`; the server must already archive into `backup_dir/wal`."""
    conn = _libpq(database_url)  # refuses anything but PostgreSQL first
    with get_engine(database_url).connect() as db:
        mode = db.execute(text("SHOW archive_mode")).scalar()
        command = db.execute(text("SHOW archive_command")).scalar() or ""
    wal = backup_dir / "wal"
    if mode != "on" or str(wal) not in command:
        wanted = "\n".join(f"  {k} = '{v}'" for k, v in archive_settings(backup_dir).items())
        raise ConfigError(
            f"the server does not archive its WAL into {wal} (archive_mode={mode}); set in postgresql.conf "
            f"and restart it:\n{wanted}"
        )
    started = dt.datetime.now(dt.UTC)
    target = backup_dir / "base" / started.strftime("%Y%m%dT%H%M%S%fZ")
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PGPASSWORD": conn["password"]}
    command = ["pg_basebackup", "-h", conn["host"], "-p", conn["port"], "-U", conn["user"], "-D", str(target)]
    result = subprocess.run(
        [*command, "-Fp", "-X", "stream", "--checkpoint=fast"], env=env, capture_output=True, text=True
    )
    if result.returncode:
        shutil.rmtree(target, ignore_errors=True)
        raise ConfigError(f"pg_basebackup failed: {result.stderr.strip()}")
    finished = dt.datetime.now(dt.UTC)
    (target / MANIFEST).write_text(
        json.dumps({"started_at": started.isoformat(), "finished_at": finished.isoformat()}) + "\n"
    )
    return Backup(target, started, finished)


def backups(backup_dir: Path) -> list[Backup]:
    """Every complete base backup, oldest first."""
    found = []
    for manifest in sorted((backup_dir / "base").glob(f"*/{MANIFEST}")):
        data = json.loads(manifest.read_text())
        found.append(
            Backup(
                manifest.parent,
                dt.datetime.fromisoformat(data["started_at"]),
                dt.datetime.fromisoformat(data["finished_at"]),
            )
        )
    return found


@dataclass
class Restore:
    data_dir: Path
    base: Backup
    target: dt.datetime
    last_archived: dt.datetime | None  # newest WAL file in the archive: what a restore could reach
    seconds: float


def prepare(backup_dir: Path, target: dt.datetime, data_dir: Path) -> Restore:
    """A data directory that replays the archive up to `target` and then promotes, ready for pg_ctl start."""
    started = time.monotonic()
    if target.tzinfo is None:
        raise ConfigError("--to needs a time with a zone (e.g. 2026-12-06T21:30:00Z)")
    usable = [b for b in backups(backup_dir) if b.finished_at <= target]
    if not usable:
        raise ConfigError(f"no base backup in {backup_dir} finished before {target.isoformat()}")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ConfigError(f"{data_dir} is not empty: restore into a fresh data directory")
    base = usable[-1]
    shutil.copytree(base.path, data_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST))
    for leftover in ("postmaster.pid", "standby.signal"):
        (data_dir / leftover).unlink(missing_ok=True)
    wal = backup_dir / "wal"
    with open(data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write(
            f"\n# brain restore {dt.datetime.now(dt.UTC).isoformat()}\n"
            f"restore_command = 'cp {wal}/%f %p'\n"
            f"recovery_target_time = '{target.isoformat()}'\n"
            "recovery_target_action = 'promote'\n"
        )
    (data_dir / "recovery.signal").touch()
    os.chmod(data_dir, 0o700)
    owner = backup_dir.stat()
    if os.geteuid() == 0 and owner.st_uid != 0:  # the server runs as the archive's owner, never as root
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
    archived = [f.stat().st_mtime for f in wal.iterdir() if f.is_file()] if wal.is_dir() else []
    last = dt.datetime.fromtimestamp(max(archived), dt.UTC) if archived else None
    return Restore(data_dir, base, target, last, time.monotonic() - started)
