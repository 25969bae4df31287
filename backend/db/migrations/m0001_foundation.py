from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-23T20:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Foundation: sites, catalogue, lots, ledger, balances, auth"


async def forwards():
    return sql_migration(ID, "0001_foundation.sql", DESCRIPTION)
