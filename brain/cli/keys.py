"""`brain keys generate|rotate`: payload encryption keys; rotate re-encrypts stored rows with the newest key."""

from __future__ import annotations

import click
from sqlalchemy import JSON, column, select, table, update

from brain import crypto
from brain.config import get_settings
from brain.db import get_engine

# The raw columns, read and written without the model's decrypting type.
_missions = table("missions", column("id"), column("payload", JSON), column("result", JSON))


@click.group()
def keys() -> None:
    """Encryption keys for mission payloads and results at rest."""


@keys.command()
def generate() -> None:
    """Print a new Fernet key (put it first in BRAIN_ENCRYPTION_KEYS)."""
    click.echo(crypto.generate_key())


@keys.command()
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
def rotate(batch: int) -> None:
    """Re-encrypt every stored payload/result with the newest key (and encrypt plaintext rows when on)."""
    settings = get_settings()
    crypto.configure(settings)
    crypto.keyring(settings)  # fail early, before touching a row, if the keys are missing
    engine = get_engine(settings.database_url)
    changed = seen = 0
    last = None
    while True:
        with engine.begin() as conn:
            query = select(_missions).order_by(_missions.c.id).limit(batch)
            if last is not None:
                query = query.where(_missions.c.id > last)
            rows = conn.execute(query).all()
            for row in rows:
                new = {name: crypto.reencrypt(getattr(row, name), settings) for name in ("payload", "result")}
                if new != {"payload": row.payload, "result": row.result}:
                    conn.execute(update(_missions).where(_missions.c.id == row.id).values(**new))
                    changed += 1
        seen += len(rows)
        if len(rows) < batch:
            break
        last = rows[-1].id
    click.echo(f"re-encrypted {changed} of {seen} missions with the newest key")
