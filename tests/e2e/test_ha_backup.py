"""Backup and point-in-time recovery drill: write, back up, write, restore to a time between, count rows.

PostgreSQL archives its WAL into the backup directory (the settings `brain backup
--print-settings` prints); `brain backup` takes a base backup; `brain restore --to T` prepares a
fresh data directory that replays the archive up to T. The restored server must hold exactly
the missions accepted before T. RPO (the target's distance from the newest archived WAL) and
RTO (restore + replay until the server takes writes) are printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import psycopg2
import pytest

from brain.backup import archive_settings
from tests.servers import postgres_dir, start_postgres, start_postgres_on, start_redis, wait_for
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.standard]


def _ids(dsn: str) -> set[str]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CAST(id AS TEXT) FROM missions")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def _archived_through(admin_dsn: str) -> None:
    """Close the current WAL segment and wait until the archiver has copied it."""
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_walfile_name(pg_switch_wal())")
            segment = cur.fetchone()[0]

            def archived() -> bool:
                cur.execute("SELECT last_archived_wal FROM pg_stat_archiver")
                last = cur.fetchone()[0]
                return last is not None and last >= segment

            wait_for(archived, 30, 0.2, what=f"WAL {segment} to be archived")
    finally:
        conn.close()


def test_restore_to_a_time_between_two_writes_holds_exactly_the_first(tmp_path):
    backup_dir, owner = postgres_dir()  # the server writes its WAL archive here, as its own user
    wal = Path(backup_dir) / "wal"
    wal.mkdir()
    if owner:
        shutil.chown(wal, user=owner)
    pg, rs = start_postgres(conf=archive_settings(Path(backup_dir))), start_redis()
    stack = Stack.create("standard", database_url=pg.url, redis_url=rs.url)
    restored = None
    try:
        stack.start_api()  # no worker: the missions stay queued, rows to count
        printed = stack.brain("backup", "--dir", backup_dir, "--print-settings").stdout
        assert f"archive_command = 'test ! -f {wal}/%f && cp %p {wal}/%f'" in printed
        first = {stack.submit("echo", {"n": n})["id"] for n in range(5)}
        took = stack.brain("backup", "--dir", backup_dir).stdout
        assert re.search(r"backup .* taken in [\d.]+ s", took), took
        second = {stack.submit("echo", {"n": n})["id"] for n in range(5, 10)}
        time.sleep(1.5)
        target = dt.datetime.now(dt.UTC)
        time.sleep(1.5)
        third = {stack.submit("echo", {"n": n})["id"] for n in range(10, 15)}
        _archived_through(pg.admin_url)

        data_base, _ = postgres_dir()
        data_dir = os.path.join(data_base, "restored")
        started = time.monotonic()
        out = stack.brain("restore", "--dir", backup_dir, "--to", target.isoformat(), "--data", data_dir).stdout
        assert "replays the archive up to" in out, out
        restored = start_postgres_on(data_dir)
        dsn = f"postgresql://postgres@127.0.0.1:{restored.port}/brain"

        def promoted() -> bool:
            try:
                conn = psycopg2.connect(dsn)
            except psycopg2.OperationalError:
                return False
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_is_in_recovery()")
                    return not cur.fetchone()[0]
            finally:
                conn.close()

        wait_for(promoted, 120, 0.2, what="the restored server to finish recovery")
        rto_s = time.monotonic() - started
        found = _ids(dsn)
        timeout_s = archive_settings(Path(backup_dir))["archive_timeout"]
        print(
            f"\npitr drill: restored {len(found)} of {len(first | second | third)} missions to "
            f"{target.isoformat()} (exactly those before it), RTO {rto_s:.1f} s (restore + replay until it takes "
            f"writes), RPO <= archive_timeout = {timeout_s} s (a lost server loses at most its last unarchived WAL)"
        )
        assert found == first | second, (len(found & third), len((first | second) - found))
        assert not found & third
    finally:
        stack.stop()
        if restored:
            restored.stop()
        rs.stop()
        pg.stop()
