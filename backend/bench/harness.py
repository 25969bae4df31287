"""The shared lifecycle of a benchmark: database, data, server, clients, and a clean stop.

`Harness` starts its own embedded PostgreSQL in a temporary folder (or uses the server of
`--database-url`), creates and migrates a database, loads the benchmark warehouse with COPY,
initialises pgbench's tables in a second database, starts the real lotline server under
uvicorn as a subprocess and signs the clients in over HTTP. `close()` stops the server, drops
or stops the database and deletes the folder; it runs on success, error, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import asyncpg
import psutil

from backend.bench.dataset import Dataset, ledger_mismatches, load_dataset
from backend.bench.loadgen import BenchRequest, HttpConnection, open_connection, run_closed_loop
from backend.bench.pgbench import PgbenchTarget, init_pgbench, run_pgbench
from backend.bench.stats import RunStats, cpu_ms_per_request
from backend.db.embedded import pg_bin, start_embedded, stop_embedded
from backend.db.provision import create_database
from backend.settings import PROJECT_ROOT
from backend.web.heap import freeze_long_lived

__all__ = [
    "BENCH_PASSWORD",
    "BENCH_ROLES",
    "BENCH_USER",
    "TUNING",
    "BenchOptions",
    "Harness",
    "Progress",
    "bench_user",
]

BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password"
BENCH_ROLES = ("receiver", "picker", "packer", "supervisor")
"""Every bench user may receive, pick, pack and run waves: each benchmark uses its part."""

TUNING = {
    "max_connections": "200",
    "shared_buffers": "256MB",
    "synchronous_commit": "off",
    "checkpoint_timeout": "30min",
    "max_wal_size": "4GB",
}
"""Settings of the embedded server. Commits are not waited for on disk (`--durable` turns
that back on); fsync stays on, so a crash loses at most the last moment, never consistency.
Checkpoints are spaced out so none lands in the middle of a short run."""

SERVER_START_TIMEOUT = 60.0


@dataclass
class BenchOptions:
    """Options every benchmark takes."""

    workers: int = 2
    clients: int = 32
    duration_s: float = 10.0
    warmup_s: float = 2.0
    runs: int = 3
    database_url: str | None = None
    scale: float = 1.0
    history: int = 0
    """Moves per lot loaded into the ledger beyond its receipts (see `load_dataset`)."""
    http_client: str = "raw"
    pgbench_scale: int = 10
    pgbench_clients: int = 32
    pgbench_threads: int = 2
    durable: bool = False
    pool_max: int | None = None
    profile_sql: bool = False
    """Load pg_stat_statements and report the statements that took the database's time."""

    extra: dict[str, Any] = field(default_factory=dict)
    """Options particular to one benchmark."""

    def server_pool_max(self) -> int:
        """Connections per worker: its share of the clients, plus a few for the auth lookup."""
        if self.pool_max is not None:
            return self.pool_max
        return max(4, math.ceil(self.clients / self.workers) + 4)


class Progress:
    """Phases with their timings on stderr, so stdout stays the result."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}

    def note(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            print(f"[{elapsed:6.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.note(f"{name} ...")
        began = time.monotonic()
        yield
        took = time.monotonic() - began
        self.timings[name] = round(took, 3)
        self.note(f"{name}: done in {took:.1f}s")


def bench_user(n: int) -> str:
    """The username of client `n` (its token is `Harness.tokens[n]`)."""
    return f"{BENCH_USER}-{n:03d}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _tree(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class Harness:
    """Everything a benchmark runs against; use `async with Harness(...)`."""

    def __init__(self, options: BenchOptions, progress: Progress | None = None) -> None:
        self.options = options
        self.progress = progress or Progress()
        self.folder = Path(tempfile.mkdtemp(prefix="lotline-bench-"))
        self.pgdata: Path | None = None
        self.admin_url = ""
        self.database_url = ""
        self.pgbench_target: PgbenchTarget | None = None
        self.pgbench_url: str | None = None
        self.created_databases: list[str] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log = self.folder / "server.log"
        self.port = 0
        self.tokens: list[str] = []
        self.user_id = 0
        self.dataset = Dataset()
        self.settings: dict[str, str] = {}
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Harness:
        try:
            await self.start()
        except BaseException:
            self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    async def start(self, *, server: bool = True, pgbench: bool = True) -> None:
        """Database, data, pgbench tables (alongside the load) and the server."""
        progress = self.progress
        with progress.phase("starting PostgreSQL"):
            self._start_database()
        name = f"lotline_bench_{uuid.uuid4().hex[:8]}"
        with progress.phase("creating and migrating the database"):
            self.database_url = await self._create_database(name)
            await self._migrate()
            if self.options.profile_sql:
                await self._execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        pgbench_ready = None
        if pgbench:
            pgbench_url = await self._create_database(f"pgbench_{uuid.uuid4().hex[:8]}")
            self.pgbench_url = pgbench_url
            self.pgbench_target = PgbenchTarget.from_url(pgbench_url)
            pgbench_ready = asyncio.create_task(
                init_pgbench(self.pgbench_target, self.options.pgbench_scale)
            )
            progress.note(f"pgbench -i -s {self.options.pgbench_scale} started alongside")
        try:
            with progress.phase("loading the warehouse with COPY"):
                await self._load()
            counts = ", ".join(f"{n} {table}" for table, n in self.dataset.counts.items())
            progress.note(f"loaded {counts}")
            if server:
                with progress.phase(f"starting the server ({self.options.workers} workers)"):
                    await self._start_server()
                with progress.phase(f"signing in {self.options.clients} clients"):
                    await self._sign_in()
            if pgbench_ready is not None:
                with progress.phase("waiting for pgbench's tables"):
                    await pgbench_ready
        finally:
            if pgbench_ready is not None and not pgbench_ready.done():
                pgbench_ready.cancel()

    def close(self) -> None:
        """Stop the server, then the database, and delete the folder; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.progress.note("stopping the server and the database")
        if self.server is not None:
            _stop_process_group(self.server)
        if self.pgdata is not None:
            stop_embedded(self.pgdata, delete=True)
        elif self.created_databases:
            for name in self.created_databases:
                _drop_database(self.admin_url, name)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _start_database(self) -> None:
        given = self.options.database_url
        if given:
            self.admin_url = given
            self.settings = {"server": "given by --database-url (settings as found)"}
            return
        tuning = dict(TUNING)
        if self.options.durable:
            tuning["synchronous_commit"] = "on"
        if self.options.profile_sql:
            tuning["shared_preload_libraries"] = "pg_stat_statements"
        # A benchmark may need a setting of its own (fanout: track_commit_timestamp).
        tuning.update(self.options.extra.get("postgres_settings") or {})
        self.folder.chmod(0o755)
        self.pgdata = self.folder / "pgdata"
        self.admin_url = start_embedded(self.pgdata, tuning=tuning)
        self.settings = tuning

    async def _create_database(self, name: str) -> str:
        url = await create_database(self.admin_url, name, exist_ok=False)
        self.created_databases.append(name)
        return url

    async def _migrate(self) -> None:
        # A child process keeps Piccolo's engine and DATABASE_URL out of this process.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import asyncio, sys\n"
            "from backend.db.migrate import migrate\n"
            "asyncio.run(migrate(sys.argv[1]))",
            self.database_url,
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"migrating failed:\n{output.decode(errors='replace')}")

    async def _load(self) -> None:
        from backend.auth.service import create_user

        conn = await asyncpg.connect(self.database_url)
        try:
            # One person per client, as on a warehouse floor: row locks that a user's writes
            # take (foreign keys to app_user) are then not shared by every client at once.
            user_ids = [
                await create_user(
                    conn, bench_user(n), BENCH_PASSWORD, BENCH_ROLES, display_name=f"Bench {n}"
                )
                for n in range(self.options.clients)
            ]
            self.user_id = user_ids[0]
            self.dataset = await load_dataset(
                conn, scale=self.options.scale, user_id=self.user_id, history=self.options.history
            )
        finally:
            await conn.close()

    async def _start_server(self) -> None:
        self.port = _free_port()
        pool = self.options.server_pool_max()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "LOTLINE_POOL_MIN": str(min(pool, 4)),
            "LOTLINE_POOL_MAX": str(pool),
            "PYTHONUNBUFFERED": "1",
        }
        # What `lotline serve --workers N` runs: one SO_REUSEPORT socket per worker.
        command = [
            sys.executable,
            "-m",
            "backend.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.options.workers),
        ]
        self.server = self._spawn(command, env)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        healthy = 0
        async with aiohttp.ClientSession() as session:
            while healthy < self.options.workers * 2:
                if self.server.poll() is not None:
                    raise RuntimeError(f"the server exited:\n{self.server_output()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not get healthy:\n{self.server_output()}")
                try:
                    async with session.get(f"{self.base_url}/health") as response:
                        healthy = healthy + 1 if response.status == 200 else 0
                except aiohttp.ClientError:
                    healthy = 0
                await asyncio.sleep(0.05 if healthy else 0.2)

    def _spawn(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.server_log.open("wb") as log:
            # A session of its own: Ctrl-C reaches only us, and we stop the server in order.
            return subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _sign_in(self) -> None:
        limit = asyncio.Semaphore(4)

        async def one(session: aiohttp.ClientSession, n: int) -> str:
            async with (
                limit,
                session.post(
                    f"{self.base_url}/api/auth/login",
                    json={"username": bench_user(n), "password": BENCH_PASSWORD},
                ) as response,
            ):
                body = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"sign-in failed ({response.status}): {body}")
                token: str = body["token"]
                return token

        async with aiohttp.ClientSession() as session:
            self.tokens = list(
                await asyncio.gather(*(one(session, n) for n in range(self.options.clients)))
            )

    # -- what benchmarks use -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server_output(self) -> str:
        """The server's log so far (its last 4000 characters)."""
        try:
            return self.server_log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def postgres_pid(self) -> int | None:
        if self.pgdata is None:
            return None
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def worker_connections(self) -> list[int]:
        """Open client connections per server worker (uvicorn shares one listening socket)."""
        counts = []
        for worker in _tree(self.server.pid if self.server else None)[1:]:
            try:
                if "resource_tracker" in " ".join(worker.cmdline()):
                    continue
                established = [
                    c
                    for c in worker.net_connections(kind="tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                ]
            except psutil.Error:
                continue
            counts.append(len(established))
        return counts

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds used so far by the load generator, the server and PostgreSQL."""
        snapshot = {"loadgen": _cpu_seconds(psutil.Process())}
        for name, pid in (
            ("server", self.server.pid if self.server else None),
            ("postgres", self.postgres_pid()),
        ):
            total = 0.0
            for process in _tree(pid):
                try:
                    total += _cpu_seconds(process)
                except psutil.Error:
                    continue
            snapshot[name] = total
        busy = psutil.cpu_times()
        snapshot["machine_idle"] = float(busy.idle)
        return snapshot

    async def run_load(
        self,
        next_request: Callable[[int], BenchRequest],
        on_error: Callable[[BenchRequest, int, bytes], None] | None = None,
        rate_per_s: float | None = None,
    ) -> tuple[RunStats, dict[str, float]]:
        """One run from every client, closed-loop or paced at `rate_per_s`; returns its
        stats and CPU shares."""
        options = self.options
        connections: list[HttpConnection] = [
            open_connection(
                options.http_client, "127.0.0.1", self.port, {"Authorization": f"Bearer {token}"}
            )
            for token in self.tokens
        ]
        cpu: dict[str, float] = {}
        # The load generator holds the whole dataset; its own collector pauses would be
        # charged to the server as latency.
        freeze_long_lived()

        async def sample() -> None:
            await asyncio.sleep(options.warmup_s)
            before = self.cpu_snapshot()
            await asyncio.sleep(options.duration_s)
            after = self.cpu_snapshot()
            capacity = options.duration_s * (psutil.cpu_count() or 1)
            for key in before:
                cpu[key] = round((after[key] - before[key]) / capacity, 3)

        sampler = asyncio.create_task(sample())
        try:
            stats = await run_closed_loop(
                connections,
                next_request,
                warmup_s=options.warmup_s,
                duration_s=options.duration_s,
                on_error=on_error,
                rate_per_s=rate_per_s,
            )
            await sampler
        finally:
            sampler.cancel()
            for connection in connections:
                await connection.close()
        return stats, cpu

    async def saturated_and_paced(
        self,
        what: str,
        keys: str,
        next_request: Callable[[int], BenchRequest],
        on_error: Callable[[BenchRequest, int, bytes], None] | None,
        rate_per_s: float,
        number: int,
        cpu_keys: str | None = None,
    ) -> tuple[dict[str, float], tuple[RunStats, RunStats]]:
        """A closed-loop run, then one paced at `rate_per_s`: their figures under `keys`
        (`_per_s`, `_saturated_p99_ms`, `_paced_per_s`, `_p50_ms`, `_p99_ms`, the last three
        of the paced run), the closed loop's CPU per request under `cpu_keys` (default
        `keys`), and both runs' stats."""
        runs = self.options.runs
        with self.progress.phase(f"run {number}/{runs}: {what}, closed loop"):
            saturated, cpu = await self.run_load(next_request, on_error)
        with self.progress.phase(f"run {number}/{runs}: {what} paced at {rate_per_s:,.0f}/s"):
            paced, _ = await self.run_load(next_request, on_error, rate_per_s)
        top, steady = saturated.summary(), paced.summary()
        figures = {
            f"{keys}_per_s": round(top["per_s"], 1),
            f"{keys}_saturated_p99_ms": round(top["p99_ms"], 2),
            f"{keys}_paced_per_s": round(steady["per_s"], 1),
            f"{keys}_p50_ms": round(steady["p50_ms"], 2),
            f"{keys}_p99_ms": round(steady["p99_ms"], 2),
        }
        for part, ms in cpu_ms_per_request(
            cpu, self.options.duration_s, len(saturated.latencies_ms)
        ).items():
            figures[f"{cpu_keys or keys}_cpu_ms_{part}"] = ms
        return figures, (saturated, paced)

    async def pgbench_tps(self, duration_s: float | None = None) -> float:
        """The database's one-row-update ceiling, measured now."""
        assert self.pgbench_target is not None, "start(pgbench=True) first"
        options = self.options
        tps = await run_pgbench(
            self.pgbench_target,
            scale=options.pgbench_scale,
            clients=options.pgbench_clients,
            threads=options.pgbench_threads,
            duration_s=round(duration_s or options.duration_s),
        )
        # Half a million updates leave pgbench's table due for autovacuum and autoanalyze,
        # which would otherwise run through the next measurement: do them now.
        assert self.pgbench_url is not None
        await self._execute("VACUUM (ANALYZE) pgbench_accounts", self.pgbench_url)
        return tps

    async def settle_database(self) -> None:
        """Vacuum and analyze the benchmark database between runs.

        The loaded tables are small (tens of thousands of rows), so a run's writes make
        every one of them due for autovacuum within seconds, where a warehouse's years of
        history would take hours. Done here, between measurements, that upkeep does not
        land inside one and show as seconds of stalled requests on a 2-core machine.
        """
        await self._execute("VACUUM (ANALYZE)")

    async def _execute(self, sql: str, database_url: str | None = None) -> None:
        conn = await asyncpg.connect(database_url or self.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def reset_sql_profile(self) -> None:
        """Forget the statements seen so far (with `profile_sql`)."""
        if self.options.profile_sql:
            await self._execute("SELECT pg_stat_statements_reset()")

    async def sql_profile(self, limit: int = 15) -> list[dict[str, Any]]:
        """The statements of the benchmark database that took the most time, since the reset."""
        if not self.options.profile_sql:
            return []
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch(
                """SELECT calls, total_exec_time, mean_exec_time, rows,
                          regexp_replace(query, '\\s+', ' ', 'g') AS query
                     FROM pg_stat_statements
                    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    ORDER BY total_exec_time DESC LIMIT $1""",
                limit,
            )
        finally:
            await conn.close()
        return [
            {
                "calls": row["calls"],
                "total_ms": round(row["total_exec_time"], 1),
                "mean_ms": round(row["mean_exec_time"], 3),
                "rows": row["rows"],
                "query": row["query"][:300],
            }
            for row in rows
        ]

    async def ledger_mismatches(self) -> int:
        """Balances that disagree with the movement ledger (0 after a correct run)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            return await ledger_mismatches(conn)
        finally:
            await conn.close()


def _stop_process_group(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the server's session (master and workers); SIGKILL what outlives `timeout`."""
    members = _tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _, alive = psutil.wait_procs(members, timeout=5)
    for member in alive:
        with suppress(psutil.Error):
            member.kill()


def _drop_database(admin_url: str, name: str) -> None:
    subprocess.run(
        [
            str(pg_bin("psql")),
            admin_url,
            "-q",
            "-c",
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        ],
        capture_output=True,
        check=False,
    )
