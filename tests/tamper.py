"""What an attacker with the database owner's rights does to the audit trail: get past the append-only triggers."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def tamper(url: str, statement: str, **params) -> None:
    """Run `statement` on the events table with its triggers out of the way (then put them back)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if url.startswith("sqlite"):
                triggers = conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
                ).all()
                for name, _ in triggers:
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
                conn.execute(text(statement), params)
                for _, sql in triggers:
                    conn.execute(text(sql))
            else:
                conn.execute(text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
                conn.execute(text(statement), params)
    finally:
        engine.dispose()
