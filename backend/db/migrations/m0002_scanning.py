from backend.db.migrations.sql_migration import sql_migration

ID = "2026-11-23T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Scanning: every scan recorded with its parse and verdict"


async def forwards():
    return sql_migration(ID, "0002_scanning.sql", DESCRIPTION)
