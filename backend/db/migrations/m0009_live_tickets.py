from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T05:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Live-channel tickets for console pages, and a hold's messages found by hold"


async def forwards():
    return sql_migration(ID, "0009_live_tickets.sql", DESCRIPTION)
