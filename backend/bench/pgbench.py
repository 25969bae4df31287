"""The database's own ceiling, measured with the `pgbench` shipped in the embedded wheel.

A single-row UPDATE per transaction, from as many clients as the HTTP benchmark uses, is the
most a write path of one statement could reach on this server; an HTTP write does several
statements, so `writes_per_s / pgbench_tps` says how much of that ceiling the app reaches.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from backend.db.embedded import pg_bin

__all__ = ["PgbenchTarget", "init_pgbench", "run_pgbench"]

ACCOUNTS_PER_SCALE = 100_000

_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)


@dataclass(frozen=True)
class PgbenchTarget:
    """Connection options for pgbench, taken from a PostgreSQL URL."""

    host: str | None
    port: int | None
    user: str
    password: str | None
    database: str

    @classmethod
    def from_url(cls, url: str) -> PgbenchTarget:
        """Split a URL (TCP or `?host=<socket dir>`) into pgbench's -h -p -U and database."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or ""])[0] or None
        port = query.get("port", [str(parts.port) if parts.port else ""])[0]
        return cls(
            host=host,
            port=int(port) if port else None,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            database=unquote(parts.path.lstrip("/")) or "postgres",
        )

    def args(self) -> list[str]:
        args = ["-U", self.user]
        if self.host:
            args += ["-h", self.host]
        if self.port:
            args += ["-p", str(self.port)]
        return args

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


async def _pgbench(target: PgbenchTarget, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(pg_bin("pgbench")),
        *target.args(),
        *args,
        target.database,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=target.env(),
    )
    try:
        output, _ = await process.communicate()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed ({process.returncode}):\n{text}")
    return text


_SCRIPT = "update_one.sql"


def _write_script(scale: int) -> Path:
    """A folder holding the one-row UPDATE script, world-readable whoever reads it."""
    folder = Path(tempfile.mkdtemp(prefix="lotline-pgbench-"))
    folder.chmod(0o755)
    path = folder / _SCRIPT
    path.write_text(
        f"\\set aid random(1, {scale * ACCOUNTS_PER_SCALE})\n"
        "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
    )
    path.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    return folder


async def init_pgbench(target: PgbenchTarget, scale: int) -> None:
    """Create and fill pgbench's tables (`pgbench -i -s scale`) in the target database."""
    await _pgbench(target, "-i", "-q", "-s", str(scale))


async def run_pgbench(
    target: PgbenchTarget, *, scale: int, clients: int, threads: int, duration_s: int
) -> float:
    """Transactions per second of a one-row UPDATE script; see the module docstring."""
    folder = _write_script(scale)
    try:
        output = await _pgbench(
            target,
            "-n",
            "-c",
            str(clients),
            "-j",
            str(max(1, min(threads, clients))),
            "-T",
            str(max(1, duration_s)),
            "-f",
            str(folder / _SCRIPT),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    match = _TPS.search(output)
    if match is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{output}")
    return float(match.group(1))
