"""`lotline serve` without DATABASE_URL: embedded PostgreSQL, clean stop, data kept across runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from backend.db.embedded import stop_embedded
from tests.conftest import PROJECT_ROOT, free_port, stop_process, wait_for_health

pytestmark = pytest.mark.slow

_console_script = Path(sys.executable).with_name("lotline")
LOTLINE = (
    [str(_console_script)] if _console_script.exists() else [sys.executable, "-m", "backend.cli"]
)


class Sandbox:
    """A LOTLINE_DATA_DIR of its own, and the lotline processes started in it."""

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "data"
        self.pgdata = self.data_dir / "pgdata"
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env["LOTLINE_DATA_DIR"] = str(self.data_dir)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.runs = 0

    def lotline(self, *args: str) -> str:
        """Run a short lotline command and return its output."""
        result = subprocess.run(
            [*LOTLINE, *args], cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def serve(self) -> tuple[subprocess.Popen[bytes], Path]:
        """Start `lotline serve` on a free port and wait until /health answers 200."""
        self.runs += 1
        port = free_port()
        log = self.root / f"serve-{self.runs}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*LOTLINE, "serve", "--port", str(port)],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        wait_for_health(f"http://127.0.0.1:{port}", process, log, timeout=60)
        return process, log

    def postgres_pid(self) -> int | None:
        """The embedded postmaster's pid while its pid file exists."""
        pid_file = self.pgdata / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None

    def database_url(self) -> str:
        """URL of the lotline database on the running embedded server."""
        socket_dir = (self.pgdata / "postmaster.pid").read_text().splitlines()[4].strip()
        return f"postgresql://postgres:@/lotline?host={socket_dir}"

    def report(self) -> str:
        """The serve logs and the end of the PostgreSQL log, for failure messages."""
        parts = [
            f"--- {log.name}\n{log.read_text()}" for log in sorted(self.root.glob("serve-*.log"))
        ]
        pg_log = self.pgdata / "log"
        if pg_log.exists():
            parts.append("--- postgres log\n" + "\n".join(pg_log.read_text().splitlines()[-30:]))
        return "\n".join(parts)

    def close(self) -> None:
        for process in self.processes:
            stop_process(process)
        stop_embedded(self.pgdata)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # Not under pytest's tmp_path: pytest resets its base folder to mode 0700 at every run,
    # which would lock the embedded server's owner (user embedded_postgres) out mid-test.
    root = Path(tempfile.mkdtemp(prefix="lotline-serve-test-"))
    box = Sandbox(root)
    yield box
    box.close()
    shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until `pid` has exited: the postmaster removes its pid file just before it exits."""
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stop(process: subprocess.Popen[bytes], log: Path, signum: int) -> None:
    process.send_signal(signum)
    try:
        code = process.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lotline serve ignored signal {signum}:\n{log.read_text()}")
    assert code == 0, log.read_text()


async def test_serve_stops_cleanly_and_keeps_its_data(sandbox: Sandbox) -> None:
    process, log = sandbox.serve()
    pid = sandbox.postgres_pid()
    assert pid is not None and _alive(pid)
    conn = await asyncpg.connect(sandbox.database_url())
    try:
        await conn.execute("INSERT INTO warehouse (code, name) VALUES ('KEEP', 'Kept across runs')")
    finally:
        await conn.close()

    _stop(process, log, signal.SIGINT)
    assert sandbox.postgres_pid() is None, sandbox.report()
    assert _gone(pid)

    process, log = sandbox.serve()
    conn = await asyncpg.connect(sandbox.database_url())
    try:
        name = await conn.fetchval("SELECT name FROM warehouse WHERE code = 'KEEP'")
    finally:
        await conn.close()
    assert name == "Kept across runs"

    pid = sandbox.postgres_pid()
    assert pid is not None
    _stop(process, log, signal.SIGTERM)
    assert sandbox.postgres_pid() is None, sandbox.report()
    assert _gone(pid)


async def test_serve_reuses_an_embedded_server_that_is_already_running(sandbox: Sandbox) -> None:
    # As if `lotline db-url` (or a crashed run) had left the embedded server running.
    url = sandbox.lotline("db-url").strip()
    pid = sandbox.postgres_pid()
    assert pid is not None and _alive(pid)

    process, log = sandbox.serve()
    assert sandbox.postgres_pid() == pid, "serve should reuse the running server"
    assert "reused" in log.read_text()

    _stop(process, log, signal.SIGINT)
    # serve did not start it, so it leaves it for whoever did; db-stop stops it.
    assert sandbox.postgres_pid() == pid and _alive(pid), sandbox.report()
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM role") > 0
    finally:
        await conn.close()

    sandbox.lotline("db-stop")
    assert sandbox.postgres_pid() is None, sandbox.report()
    assert _gone(pid)
