"""`lotline serve --workers N`: N processes, each with its own socket on the one port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import PROJECT_ROOT, free_port, stop_process, wait_for_health

pytestmark = pytest.mark.slow


def listeners(parent: psutil.Process, port: int) -> set[int]:
    """Pids of `parent`'s children listening on `port`."""
    pids = set()
    for child in parent.children(recursive=True):
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            pids.add(child.pid)
    return pids


async def test_workers_each_listen_and_share_the_load_then_stop_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - a server, waited on by its own helpers
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers", "3"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log)
        parent = psutil.Process(process.pid)
        for _ in range(100):  # workers come up one by one: allow 20 s
            workers = listeners(parent, port)
            if len(workers) == 3:
                break
            await asyncio.sleep(0.2)
        assert len(workers) == 3, log.read_text()

        # Many long-lived connections, as handhelds hold them, land on more than one worker.
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") for _ in range(24)]
        try:
            for client in clients:
                assert (await client.get("/health")).status_code == 200
            serving = set()
            for pid in workers:
                connections = psutil.Process(pid).net_connections(kind="tcp")
                if any(c.status == psutil.CONN_ESTABLISHED for c in connections):
                    serving.add(pid)
            assert len(serving) >= 2, f"all connections on one worker: {serving}"
        finally:
            for client in clients:
                await client.aclose()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
        assert not any(psutil.pid_exists(pid) for pid in workers if _alive(pid))
        assert "lotline stopped." in log.read_text()
    finally:
        stop_process(process)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
