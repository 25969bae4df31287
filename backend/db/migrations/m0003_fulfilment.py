from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-24T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Fulfilment: channels, customers, orders, waves, pick tasks"


async def forwards():
    return sql_migration(ID, "0003_fulfilment.sql", DESCRIPTION)
