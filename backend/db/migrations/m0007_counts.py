from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Blind cycle counts: counts, their tasks per bin, snapshots and lines"


async def forwards():
    return sql_migration(ID, "0007_counts.sql", DESCRIPTION)
