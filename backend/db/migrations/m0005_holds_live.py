from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Holds and recalls, and the live channel outbox"


async def forwards():
    return sql_migration(ID, "0005_holds_live.sql", DESCRIPTION)
