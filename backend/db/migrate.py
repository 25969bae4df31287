"""Apply Piccolo migrations, one process at a time."""

from __future__ import annotations

import os

import asyncpg

__all__ = ["migrate"]

_MIGRATION_LOCK = 7_402_113


async def migrate(database_url: str) -> None:
    """Bring the schema at `database_url` up to date; safe to call from many processes."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
    from piccolo.apps.migrations.commands.forwards import run_forwards

    lock = await asyncpg.connect(database_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        result = await run_forwards(app_name="lotline")
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}")
    finally:
        await lock.close()
