from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Offline handhelds: scans marked offline and queued, and exceptions of those refused"


async def forwards():
    return sql_migration(ID, "0008_offline.sql", DESCRIPTION)
