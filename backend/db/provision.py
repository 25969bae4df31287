"""Find or make the PostgreSQL database lotline runs on.

`DATABASE_URL` wins when set. Otherwise the embedded server in the project's data folder is
started (or a running one reused) and the database created on first use, so every `lotline`
command and a second start of `lotline serve` see the same data.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from backend.db.embedded import start_embedded, stop_embedded
from backend.settings import get_settings

__all__ = [
    "Provisioned",
    "create_database",
    "drop_database",
    "embedded_pgdata",
    "embedded_running",
    "ensure_database",
    "provision",
    "stop_embedded_checked",
    "with_database",
]


@dataclass(frozen=True)
class Provisioned:
    """Where the database is, and whether this process started the embedded server for it."""

    url: str
    """URL of the lotline database."""

    pgdata: Path | None
    """Data folder of the embedded server, or None when `DATABASE_URL` was given."""

    started_embedded: bool
    """True when this call started the embedded server (so this process should stop it)."""

    def stop_if_started(self) -> None:
        """Stop the embedded server when this process started it; leave anything else alone."""
        if self.started_embedded and self.pgdata is not None:
            stop_embedded_checked(self.pgdata)


def embedded_pgdata() -> Path:
    """The embedded server's data folder inside `LOTLINE_DATA_DIR`."""
    return get_settings().data_dir / "pgdata"


def embedded_running(pgdata: Path) -> bool:
    """True when a server process for `pgdata` is alive (per its postmaster.pid)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded_checked(pgdata: Path) -> bool:
    """Stop the embedded server in `pgdata`; say so on stderr and return False if it still runs."""
    stop_embedded(pgdata)
    if embedded_running(pgdata):
        print(
            f"lotline: could not stop the embedded PostgreSQL in {pgdata} "
            "(can its owner, user embedded_postgres, still reach that folder?)",
            file=sys.stderr,
        )
        return False
    return True


def with_database(url: str, name: str) -> str:
    """`url` with its database (the URL path) replaced by `name`, keeping host and query."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(
    server_url: str, name: str, *, template: str | None = None, exist_ok: bool = True
) -> str:
    """Create database `name` on the server of `server_url` (if missing) and return its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not exist_ok:
            raise RuntimeError(f"database {name!r} already exists")
        if not exists:
            sql = f"CREATE DATABASE {_quote_ident(name)}"
            if template:
                sql += f" TEMPLATE {_quote_ident(template)}"
            try:
                await conn.execute(sql)
            except asyncpg.DuplicateDatabaseError:
                if not exist_ok:
                    raise
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting anyone still using it."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


def _use_url(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    # Settings are cached; whoever read them before the URL was known must see it now.
    get_settings.cache_clear()


async def provision(name: str = "lotline") -> Provisioned:
    """Use `DATABASE_URL`, or start the embedded server and create database `name` on it.

    Sets `DATABASE_URL` in this process's environment, so worker processes inherit it.
    """
    given = os.environ.get("DATABASE_URL")
    if given:
        return Provisioned(url=given, pgdata=None, started_embedded=False)
    pgdata = embedded_pgdata().resolve()
    was_running = embedded_running(pgdata)
    server_url = start_embedded(pgdata)
    url = await create_database(server_url, name)
    _use_url(url)
    return Provisioned(url=url, pgdata=pgdata, started_embedded=not was_running)


async def ensure_database(name: str = "lotline") -> str:
    """The URL of the lotline database, starting the embedded server if needed (left running)."""
    return (await provision(name)).url
