"""Fixtures shared by every test that needs PostgreSQL or a running lotline server.

PostgreSQL is real: `DATABASE_URL` when set (its role must be allowed to create databases),
otherwise a throwaway embedded server in a temporary folder, stopped and deleted at the end.
The schema is migrated once per session into a template database; each test module gets its
own copy of it (`CREATE DATABASE ... TEMPLATE`, tens of milliseconds) and, when it asks for
`live_server`, its own lotline server process on a free loopback port.

Nothing here runs unless a test asks for it, so unit tests start no database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest

from backend.db.embedded import start_embedded, stop_embedded
from backend.db.provision import create_database, drop_database, with_database

if TYPE_CHECKING:
    from tests.integration.arrange import Floor

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = SERVER_START_TIMEOUT
) -> None:
    """Poll `url`/health until it answers 200; fail with the server's output otherwise."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            last_error = f"server exited with code {process.returncode}"
            break
        try:
            response = httpx.get(f"{url}/health", timeout=2.0)
            if response.status_code == 200:
                return
            last_error = f"/health answered {response.status_code}: {response.text[:500]}"
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.1)
    output = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"lotline server at {url} did not become healthy ({last_error}).\n{output}")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate `process` and wait; kill it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class PostgresServer:
    """The PostgreSQL server of this test session."""

    admin_url: str
    """URL of a database to connect to for CREATE/DROP DATABASE."""

    template: str
    """Name of the migrated template database."""

    def url_for(self, database: str) -> str:
        """URL of another database on the same server."""
        return with_database(self.admin_url, database)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """`DATABASE_URL`, or a throwaway embedded server that is stopped and deleted afterwards."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    folder = Path(tempfile.mkdtemp(prefix="lotline-test-"))
    pgdata = folder / "pgdata"
    try:
        yield start_embedded(pgdata, tuning={"fsync": "off", "synchronous_commit": "off"})
    finally:
        stop_embedded(pgdata, delete=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def postgres(postgres_admin_url: str) -> AsyncIterator[PostgresServer]:
    """The session's server with the schema migrated once into a template database."""
    # Each pytest-xdist worker has its own template, so runs sharing a server don't collide.
    template = "lotline_template" + (
        f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
    )
    await drop_database(postgres_admin_url, template)
    template_url = await create_database(postgres_admin_url, template, exist_ok=False)
    # Migrating in a child process keeps this process's settings and Piccolo engine untouched.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.cli",
        "migrate",
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": template_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        pytest.fail(f"migrating the template database failed:\n{output.decode(errors='replace')}")
    yield PostgresServer(admin_url=postgres_admin_url, template=template)
    await drop_database(postgres_admin_url, template)


@pytest.fixture(scope="module")
async def database_url(postgres: PostgresServer) -> AsyncIterator[str]:
    """A fresh, migrated database for this test module; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    url = await create_database(
        postgres.admin_url, name, template=postgres.template, exist_ok=False
    )
    yield url
    await drop_database(postgres.admin_url, name)


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct asyncpg connection to this module's database, for arranging and asserting."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@dataclass
class LiveServer:
    """A lotline server process serving one test module's database."""

    url: str
    """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""

    database_url: str
    """The database it serves."""

    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)

    def output(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")


def start_live_server(
    database_url: str, log: Path, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """Start `backend.app:create_app` under uvicorn on a free port and wait until healthy."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", database_url=database_url, process=process, log=log
    )
    try:
        wait_for_health(server.url, process, log)
    except BaseException:
        stop_process(process)
        raise
    return server


@pytest.fixture(scope="module")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real app as a subprocess on its own port and this module's database."""
    log = tmp_path_factory.mktemp("live-server") / "server.log"
    server = start_live_server(database_url, log)
    yield server
    stop_process(server.process)


@dataclass(frozen=True)
class TestUser:
    """A user created for a test, signed in through the API."""

    __test__ = False  # not a test class, despite the name

    id: int
    username: str
    password: str
    roles: tuple[str, ...]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this user's token."""
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.fixture(scope="module")
def make_user(live_server: LiveServer) -> MakeUser:
    """`await make_user(["picker"])`: create a user with those roles and sign in over HTTP."""
    from backend.auth.service import create_user

    async def make(
        roles: str | Sequence[str],
        *,
        username: str | None = None,
        password: str = "test-password",
        badge: str | None = None,
        pin: str | None = None,
    ) -> TestUser:
        role_list = (roles,) if isinstance(roles, str) else tuple(roles)
        name = username or f"u{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(live_server.database_url)
        try:
            user_id = await create_user(conn, name, password, role_list, badge=badge, pin=pin)
        finally:
            await conn.close()
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            response = await client.post(
                "/api/auth/login", json={"username": name, "password": password}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return TestUser(id=user_id, username=name, password=password, roles=role_list, token=token)

    return make


@pytest.fixture(scope="module")
def make_user_token(make_user: MakeUser) -> Callable[..., Awaitable[str]]:
    """`await make_user_token(["supervisor"])`: a bearer token for a new user with those roles."""

    async def make(roles: str | Sequence[str], **kwargs: object) -> str:
        return (await make_user(roles, **kwargs)).token

    return make


@pytest.fixture(scope="module")
async def admin_token(make_user_token: Callable[..., Awaitable[str]]) -> str:
    """A bearer token of an admin, one per test module."""
    return await make_user_token(["admin"])


@pytest.fixture(scope="module")
async def admin_client(
    live_server: LiveServer, admin_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as an admin."""
    async with httpx.AsyncClient(
        base_url=live_server.url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as http:
        yield http


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> Floor:
    """A fulfilment floor (warehouse, bins, pack station, channels, picker and packer)."""
    # arrange.py imports this module: importing it at the top would be circular.
    from tests.integration.arrange import Floor, ok

    warehouse = "FUL"
    await ok(admin_client.post("/api/warehouses", json={"code": warehouse, "name": "Fulfilment"}))
    bins, labels = [], []
    for n in range(1, 5):
        made = await ok(
            admin_client.post(
                "/api/locations",
                json={"warehouse": warehouse, "code": f"A-0{n}", "walkSequence": 50 - n * 10},
            )
        )
        bins.append(f"{warehouse}/A-0{n}")
        labels.append(made["barcode"])
    await ok(
        admin_client.post(
            "/api/locations",
            json={"warehouse": warehouse, "code": "PACK-1", "kind": "pack_station"},
        )
    )
    for code, kind, days, split in (
        ("shop", "own_shop", 0, True),
        ("marketplace", "marketplace", 90, True),
        ("wholesale", "wholesale", 180, False),
    ):
        await ok(
            admin_client.post(
                "/api/channels",
                json={
                    "code": code,
                    "name": code.title(),
                    "kind": kind,
                    "minShelfLifeDays": days,
                    "allowSplit": split,
                },
            )
        )
    return Floor(
        warehouse=warehouse,
        bins=tuple(bins),
        bin_labels=tuple(labels),
        picker=await make_user(["picker"]),
        other_picker=await make_user(["picker"]),
        packer=await make_user(["packer"]),
    )


@pytest.fixture(scope="module")
async def as_picker(live_server: LiveServer, floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.picker.headers
    ) as http:
        yield http


@pytest.fixture(scope="module")
async def as_packer(live_server: LiveServer, floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.packer.headers
    ) as http:
        yield http
