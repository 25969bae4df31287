"""Run a migration's SQL file inside Piccolo's migration transaction.

lotline's migrations are SQL because CHECK constraints, partial indexes and triggers are
beyond Piccolo's auto-migrations; Piccolo still records which ones have run.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

__all__ = ["sql_migration"]


def sql_migration(migration_id: str, sql_file: str, description: str) -> MigrationManager:
    """A MigrationManager that executes `sql_file` (a file beside this module)."""
    sql = (Path(__file__).parent / sql_file).read_text()

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None
        transaction = engine.current_transaction.get()
        if transaction is not None:
            await transaction.connection.execute(sql)
            return
        connection = await engine.get_new_connection()  # type: ignore[attr-defined]
        try:
            async with connection.transaction():
                await connection.execute(sql)
        finally:
            await connection.close()

    manager = MigrationManager(
        migration_id=migration_id, app_name="lotline", description=description
    )
    manager.add_raw(run)
    return manager
