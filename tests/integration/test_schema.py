"""The Piccolo tables and the migrated schema describe the same database."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from backend.db.piccolo_app import TABLES
from tests.conftest import PROJECT_ROOT


async def test_every_piccolo_table_matches_the_migrated_columns(db: asyncpg.Connection):
    for table in TABLES:
        name = table._meta.tablename
        migrated = {
            row["column_name"]
            for row in await db.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1", name
            )
        }
        declared = {column._meta.db_column_name for column in table._meta.columns}
        assert declared == migrated, f"{name}: piccolo {sorted(declared)} vs db {sorted(migrated)}"


PICCOLO_SELECTS = """
import asyncio
from backend.db.piccolo_app import TABLES

async def main():
    for table in TABLES:
        await table.select().limit(1).run()
        await table.count().run()
    print("selected", len(TABLES))

asyncio.run(main())
"""


def test_piccolo_queries_run_against_the_schema(database_url: str):
    result = subprocess.run(
        [sys.executable, "-c", PICCOLO_SELECTS],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PICCOLO_CONF": "backend.piccolo_conf"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"selected {len(TABLES)}" in result.stdout


async def test_every_lotline_table_has_a_piccolo_table(db: asyncpg.Connection):
    tables = {
        row["tablename"]
        for row in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables - {"migration"} == {table._meta.tablename for table in TABLES}
