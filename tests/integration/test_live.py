"""The live channel over real WebSockets to two real server processes on one database: a hold
placed through one reaches every socket on both, a socket that was away gets what it missed,
and a killed listener connection loses nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, start_live_server, stop_process
from tests.integration.arrange import ok, receive

SOCKETS = 200


@pytest.fixture(scope="module")
def second_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Another server process on the same database, as a second host behind a balancer."""
    server = start_live_server(database_url, tmp_path_factory.mktemp("second") / "server.log")
    yield server
    stop_process(server.process)


@pytest.fixture(scope="module")
async def lots(admin_client: httpx.AsyncClient) -> AsyncIterator[list[int]]:
    """A warehouse (the first, so sockets default to it) with lots to hold."""
    await ok(admin_client.post("/api/warehouses", json={"code": "LIVE", "name": "Live site"}))
    await ok(admin_client.post("/api/locations", json={"warehouse": "LIVE", "code": "L-01"}))
    await ok(admin_client.post("/api/products", json={"sku": "LIVE-1", "name": "Live item"}))
    ids = []
    for n in range(12):
        made = await ok(
            receive(
                admin_client, sku="LIVE-1", lotCode=f"LV{n:02d}", quantity=1, location="LIVE/L-01"
            )
        )
        ids.append(made["lot"]["id"])
    yield ids


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/ws"


async def hello(
    server: LiveServer, token: str, after: int = 0, device: str | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    socket = await connect(ws_url(server), open_timeout=10)
    await socket.send(
        json.dumps(
            {
                "type": "hello",
                "token": token,
                "deviceId": device or f"HH-{uuid.uuid4().hex[:8]}",
                "afterSeq": after,
            }
        )
    )
    welcome = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert welcome["type"] == "welcome", welcome
    return socket, welcome


async def until(socket: ClientConnection, kind: str, seconds: float = 10) -> dict[str, Any]:
    """The next message of `kind` on the socket (others skipped)."""
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await socket.recv())
            if frame.get("type") == kind:
                return frame


async def hold(admin: httpx.AsyncClient, lot: int) -> dict[str, Any]:
    body = {
        "idempotencyKey": str(uuid.uuid4()),
        "kind": "hold",
        "reason": "Live test",
        "lots": [lot],
    }
    placed: dict[str, Any] = await ok(admin.post("/api/holds", json=body))
    return placed


async def test_a_bad_hello_is_refused_with_a_reason(live_server, admin_token, lots):
    async with connect(ws_url(live_server)) as socket:
        await socket.send(json.dumps({"type": "hello", "token": "not-a-token", "deviceId": "X"}))
        error = json.loads(await socket.recv())
        assert (error["type"], error["code"]) == ("error", "unauthenticated")
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with connect(ws_url(live_server)) as socket:
        await socket.send("{not json")
        error = json.loads(await socket.recv())
        assert error["code"] == "invalid_hello"
    async with connect(ws_url(live_server)) as socket:
        await socket.send(json.dumps({"type": "ack", "seq": 1}))
        assert json.loads(await socket.recv())["code"] == "invalid_hello"


async def test_a_hold_reaches_a_socket_in_order_and_its_ack_is_kept(
    live_server, admin_client, admin_token, lots, db
):
    socket, welcome = await hello(live_server, admin_token, device="HH-ACK")
    async with socket:
        await hold(admin_client, lots[0])
        held = await until(socket, "lot.held")
        assert held["seq"] > welcome["seq"] and held["warehouse"] == "LIVE"
        assert held["data"]["lotId"] == lots[0] and held["data"]["reason"] == "Live test"
        assert held["at"]
        await socket.send(json.dumps({"type": "ack", "seq": held["seq"]}))
        for _ in range(50):
            acked = await db.fetchval("SELECT seq FROM live_ack WHERE device_key = 'HH-ACK'")
            if acked == held["seq"]:
                break
            await asyncio.sleep(0.1)
        assert acked == held["seq"]
    listed = await ok(admin_client.get("/api/live/acks"))
    assert {"deviceId": "HH-ACK", "warehouse": "LIVE", "seq": held["seq"]}.items() <= next(
        a for a in listed if a["deviceId"] == "HH-ACK"
    ).items()


async def test_a_socket_that_was_away_gets_what_it_missed_on_reconnect(
    live_server, admin_client, admin_token, lots
):
    socket, welcome = await hello(live_server, admin_token)
    await socket.close()
    missed = [await hold(admin_client, lot) for lot in lots[1:3]]
    again, _ = await hello(live_server, admin_token, after=welcome["seq"])
    async with again:
        got = [await until(again, "lot.held") for _ in missed]
    assert [frame["data"]["holdId"] for frame in got] == [h["id"] for h in missed]
    assert [frame["seq"] for frame in got] == sorted(frame["seq"] for frame in got)


async def latest(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(seq), 0) FROM live_message"))


async def test_a_hold_through_one_server_reaches_two_hundred_sockets_on_both(
    live_server, second_server, admin_client, admin_token, lots, db
):
    servers = [live_server, second_server]
    sockets = []
    now = await latest(db)
    for n in range(SOCKETS):
        socket, _ = await hello(servers[n % 2], admin_token, after=now)
        sockets.append(socket)
    try:
        placed = await hold(admin_client, lots[3])
        frames = await asyncio.gather(*(until(socket, "lot.held", 20) for socket in sockets))
        assert all(frame["data"]["holdId"] == placed["id"] for frame in frames)
        assert len({frame["seq"] for frame in frames}) == 1
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))


async def test_killing_the_listeners_database_connections_loses_nothing(
    live_server, second_server, admin_client, admin_token, lots, database_url, db
):
    now = await latest(db)
    on_first, welcome = await hello(live_server, admin_token, after=now)
    on_second, _ = await hello(second_server, admin_token, after=now)
    conn = await asyncpg.connect(database_url)
    try:
        killed = await conn.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name = 'lotline-live-listener'
                  AND datname = current_database()"""
        )
    finally:
        await conn.close()
    assert killed >= 2  # one per server process
    placed = [await hold(admin_client, lot) for lot in lots[4:7]]
    async with on_first, on_second:
        for socket in (on_first, on_second):
            got = [await until(socket, "lot.held", 15) for _ in placed]
            assert [frame["data"]["holdId"] for frame in got] == [h["id"] for h in placed]
            seqs = [frame["seq"] for frame in got]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
            assert seqs[0] > welcome["seq"]
