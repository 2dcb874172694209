"""`brain backup` and `brain restore --to TIME`: base backups, WAL archive, point-in-time recovery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from brain import backup as backups
from brain.config import get_settings


@click.command("backup")
@click.option("--dir", "backup_dir", type=click.Path(path_type=Path), required=True, help="The backup directory.")
@click.option("--print-settings", is_flag=True, help="Print the postgresql.conf lines that archive WAL into DIR.")
def backup(backup_dir: Path, print_settings: bool) -> None:
    """Take a base backup of the database into DIR/base/ (the server archives its WAL into DIR/wal/)."""
    backup_dir = backup_dir.resolve()
    if print_settings:
        for key, value in backups.archive_settings(backup_dir).items():
            click.echo(f"{key} = '{value}'")
        return
    taken = backups.take(get_settings().database_url, backup_dir)
    seconds = (taken.finished_at - taken.started_at).total_seconds()
    click.echo(f"backup {taken.path} ({taken.size_bytes / 1e6:.1f} MB) taken in {seconds:.1f} s")


@click.command("restore")
@click.option("--dir", "backup_dir", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--to", "target", required=True, help="Recover up to this time (ISO-8601 with a zone).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True, help="A fresh data directory.")
def restore(backup_dir: Path, target: str, data_dir: Path) -> None:
    """Prepare a fresh data directory that replays the WAL archive up to TIME, then promotes."""
    try:
        when = dt.datetime.fromisoformat(target.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{target!r} is not an ISO-8601 time", param_hint="--to") from None
    done = backups.prepare(backup_dir.resolve(), when, data_dir.resolve())
    click.echo(f"restored base backup {done.base.path.name} into {done.data_dir} in {done.seconds:.1f} s")
    click.echo(f"it replays the archive up to {done.target.isoformat()} when started, then promotes:")
    click.echo(f"  pg_ctl -D {done.data_dir} -l {done.data_dir}/log start")
    if done.last_archived:
        gap = (done.target - done.last_archived).total_seconds()
        click.echo(f"newest archived WAL {done.last_archived.isoformat()} ({max(gap, 0):.0f} s before the target)")
