from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Returns of shipped orders, their items and return-rate alerts"


async def forwards():
    return sql_migration(ID, "0006_returns.sql", DESCRIPTION)
