from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Trace and exports: indexes for forward trace, serials and date ranges"


async def forwards():
    return sql_migration(ID, "0004_trace.sql", DESCRIPTION)
