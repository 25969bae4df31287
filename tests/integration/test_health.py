"""`GET /health` tells load balancers whether a worker and its database are usable."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from backend.db.provision import create_database, drop_database
from tests.conftest import PostgresServer, start_live_server, stop_process


async def test_health_reports_ok_with_its_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_database_down_with_503(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    # A real server whose database goes away under it: start healthy, then drop the database.
    name = f"t_vanishing_{uuid.uuid4().hex}"
    url = await create_database(postgres.admin_url, name, template=postgres.template)
    server = start_live_server(url, tmp_path / "server.log")
    try:
        await drop_database(postgres.admin_url, name)
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
            response = await http.get("/health")
        assert response.status_code == 503, server.output()
        assert response.json()["database"] == "down"
    finally:
        stop_process(server.process)


async def test_api_answers_503_problem_when_the_database_is_gone(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    name = f"t_vanishing_{uuid.uuid4().hex}"
    url = await create_database(postgres.admin_url, name, template=postgres.template)
    server = start_live_server(url, tmp_path / "server.log")
    try:
        await drop_database(postgres.admin_url, name)
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
            response = await http.post(
                "/api/auth/login", json={"username": "nobody", "password": "x"}
            )
        assert response.status_code == 503, server.output()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "database_unavailable"
    finally:
        stop_process(server.process)
