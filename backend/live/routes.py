"""`GET /ws`: the live channel's WebSocket, and the acknowledgements handhelds sent."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import msgspec
from litestar import Controller, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect

from backend.auth.guards import PUBLIC, allow
from backend.auth.service import actor_for_token
from backend.db.engine import connection_pool
from backend.live.hub import Subscriber, hub
from backend.live.tickets import TICKET_PREFIX, actor_for_ticket
from backend.web.deps import Db

__all__ = ["LiveAckController", "live_socket"]

BAD_HELLO = 4400
BAD_TOKEN = 4401


class Hello(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """The first frame a handheld sends."""

    type: str
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=2**53)] = 0
    warehouse: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class Ack(msgspec.Struct, rename="camel", kw_only=True):
    type: str
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**53)] = 0


class AckOut(msgspec.Struct, rename="camel", kw_only=True):
    device_id: str
    warehouse: str
    username: str
    seq: int
    acked_at: str


_decode_hello = msgspec.json.Decoder(Hello).decode
_decode_ack = msgspec.json.Decoder(Ack).decode
_encode = msgspec.json.Encoder().encode

_ACK = """
INSERT INTO live_ack AS a (device_key, warehouse_id, user_id, seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (device_key, warehouse_id)
DO UPDATE SET seq = greatest(a.seq, EXCLUDED.seq), user_id = EXCLUDED.user_id, acked_at = now()"""


async def _refuse(socket: WebSocket[Any, Any, Any], code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await socket.send_text(
            _encode({"type": "error", "code": error, "message": message}).decode()
        )
        await socket.close(code=code, reason=error)


@websocket("/ws", opt=PUBLIC)
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """The live channel (docs/live-channel.md): hello with a token, then every message after
    the client's last seq, then new ones as they commit; the client acknowledges."""
    await socket.accept()
    try:
        async with asyncio.timeout(10):
            first = await socket.receive_text()
    except (TimeoutError, WebSocketDisconnect):
        await _refuse(socket, BAD_HELLO, "hello_required", "Send a hello first.")
        return
    try:
        hello = _decode_hello(first)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        await _refuse(socket, BAD_HELLO, "invalid_hello", str(error))
        return
    if hello.type != "hello":
        await _refuse(socket, BAD_HELLO, "hello_required", "The first frame is a hello.")
        return
    pool = connection_pool()
    actor = await (
        actor_for_ticket(pool, hello.token)
        if hello.token.startswith(TICKET_PREFIX)
        else actor_for_token(pool, hello.token)
    )
    if actor is None:
        await _refuse(
            socket, BAD_TOKEN, "unauthenticated", "Sign in again: the token is not valid."
        )
        return
    warehouse = await pool.fetchrow(
        "SELECT id, code FROM warehouse WHERE ($1::text IS NULL OR code = $1) ORDER BY id LIMIT 1",
        hello.warehouse,
    )
    if warehouse is None:
        await _refuse(socket, BAD_HELLO, "unknown_warehouse", f"No warehouse {hello.warehouse}.")
        return
    warehouse_id = warehouse["id"]

    async def send(text: str) -> None:
        await socket.send_text(text)

    subscriber = Subscriber(warehouse_id=warehouse_id, last_sent=hello.after_seq, send=send)
    await hub.subscribe(subscriber)
    latest = await hub.latest_seq(warehouse_id)
    await send(_encode({"type": "welcome", "warehouse": warehouse["code"], "seq": latest}).decode())
    sender = asyncio.create_task(subscriber.run(hub))
    try:
        while True:
            text = await socket.receive_text()
            with contextlib.suppress(msgspec.ValidationError, msgspec.DecodeError):
                ack = _decode_ack(text)
                if ack.type == "ack" and ack.seq > 0:
                    await pool.execute(_ACK, hello.device_id, warehouse_id, actor.user_id, ack.seq)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


class LiveAckController(Controller):
    path = "/api/live"
    tags = ["live"]

    @get("/acks", opt=allow("supervisor"), operation_id="listLiveAcks")
    async def acks(self, db: Db) -> list[AckOut]:
        """The last message each handheld acknowledged, per warehouse."""
        rows = await db.fetch(
            """SELECT a.device_key, w.code AS warehouse, u.username, a.seq, a.acked_at
                 FROM live_ack a JOIN warehouse w ON w.id = a.warehouse_id
                 JOIN app_user u ON u.id = a.user_id
                ORDER BY w.code, a.device_key"""
        )
        return [
            AckOut(
                device_id=row["device_key"],
                warehouse=row["warehouse"],
                username=row["username"],
                seq=row["seq"],
                acked_at=row["acked_at"].isoformat(),
            )
            for row in rows
        ]
