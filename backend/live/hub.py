"""A worker's end of the live channel: it listens for new messages and sends them to the
handhelds connected to it.

One connection per worker LISTENs on `lotline_live`. A notification names a warehouse; the
hub reads that warehouse's messages after the last one it has, once, keeps the latest few
thousand encoded, and wakes every socket of the warehouse, each of which sends what it has
not sent yet, in order. A handheld that asks for older messages gets them from the table.

Nothing depends on a notification arriving: when the listening connection drops, the hub
connects again, listens again and reads what it missed; and every `POLL_SECONDS` it compares
its latest numbers with `live_sequence`, so a message is late by at most that, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from backend.db.engine import connection_pool
from backend.live.outbox import CHANNEL
from backend.settings import get_settings

__all__ = [
    "LISTENER_NAME",
    "POLL_SECONDS",
    "Frame",
    "Hub",
    "Subscriber",
    "hub",
    "start_hub",
    "stop_hub",
]

log = logging.getLogger("lotline.live")

POLL_SECONDS = 2.0
"""How often the hub checks for messages a lost notification did not announce."""
RECENT = 5_000
"""Messages kept encoded per warehouse for sockets that fall a little behind."""
RECONNECT_SECONDS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
HEARTBEAT_SECONDS = 5.0
LISTENER_NAME = "lotline-live-listener"
"""`application_name` of the listening connections, so an operator (or a test) can find them."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One message as every socket sends it."""

    seq: int
    text: str


_FRAMES = """
SELECT m.seq, json_build_object('seq', m.seq, 'type', m.type, 'warehouse', w.code,
                                'at', m.at, 'data', m.data)::text AS text
  FROM live_message m JOIN warehouse w ON w.id = m.warehouse_id
 WHERE m.warehouse_id = $1 AND m.seq > $2
 ORDER BY m.seq
 LIMIT $3"""


@dataclass(eq=False)
class Subscriber:
    """One connected handheld: its warehouse and the last message sent to it."""

    warehouse_id: int
    last_sent: int
    send: Callable[[str], Awaitable[None]]
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, source: Hub) -> None:
        """Send every message after `last_sent`, in order, now and whenever woken."""
        while True:
            self.wake.clear()
            while True:
                frames = await source.frames_after(self.warehouse_id, self.last_sent)
                if not frames:
                    break
                for frame in frames:
                    await self.send(frame.text)
                    self.last_sent = frame.seq
            await self.wake.wait()


class Hub:
    """The worker's listener, its recent messages and its subscribers."""

    def __init__(self) -> None:
        self.subscribers: dict[int, set[Subscriber]] = {}
        self.recent: dict[int, deque[Frame]] = {}
        self.latest: dict[int, int] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.listener: asyncpg.Connection | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.reconnects = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if not self.tasks:
            self.tasks = [
                asyncio.create_task(self._listen(), name="live-listener"),
                asyncio.create_task(self._poll(), name="live-poll"),
            ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []
        if self.listener is not None and not self.listener.is_closed():
            await self.listener.close()

    async def _listen(self) -> None:
        """Keep one LISTENing connection; after each (re)connect, read what was missed."""
        attempt = 0
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(
                    get_settings().database_url,
                    server_settings={"application_name": LISTENER_NAME},
                )
                conn.add_termination_listener(lambda _conn, ended=lost: ended.set())
                await conn.add_listener(CHANNEL, self._notified)
                self.listener = conn
                self.connected.set()
                attempt = 0
                await self.catch_up()
                while not lost.is_set():
                    # A connection that died without a word (a dropped network) is found by
                    # asking it something now and then.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), HEARTBEAT_SECONDS)
                    if not lost.is_set():
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), HEARTBEAT_SECONDS)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("live listener: %s", error)
            if self.listener is not None and not self.listener.is_closed():
                self.listener.terminate()
            self.connected.clear()
            self.reconnects += 1
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self.catch_up()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            warehouse_id = int(payload)
            if warehouse_id in self.subscribers:
                asyncio.get_running_loop().create_task(self.refresh(warehouse_id))

    # -- messages ----------------------------------------------------------------------------

    async def catch_up(self) -> None:
        """Read what is new in every warehouse someone here listens to."""
        watched = [w for w, subs in self.subscribers.items() if subs]
        if not watched:
            return
        rows = await connection_pool().fetch(
            "SELECT warehouse_id, last_seq FROM live_sequence WHERE warehouse_id = ANY($1)",
            watched,
        )
        for row in rows:
            if row["last_seq"] > self.latest.get(row["warehouse_id"], 0):
                await self.refresh(row["warehouse_id"])

    async def refresh(self, warehouse_id: int) -> None:
        """Read the warehouse's new messages once and wake its sockets."""
        lock = self.locks.setdefault(warehouse_id, asyncio.Lock())
        async with lock:
            while True:
                after = self.latest.get(warehouse_id, 0)
                rows = await connection_pool().fetch(_FRAMES, warehouse_id, after, RECENT)
                if not rows:
                    break
                recent = self.recent.setdefault(warehouse_id, deque(maxlen=RECENT))
                recent.extend(Frame(row["seq"], row["text"]) for row in rows)
                self.latest[warehouse_id] = rows[-1]["seq"]
                if len(rows) < RECENT:
                    break
        for subscriber in self.subscribers.get(warehouse_id, ()):
            subscriber.wake.set()

    async def latest_seq(self, warehouse_id: int) -> int:
        seq = await connection_pool().fetchval(
            "SELECT last_seq FROM live_sequence WHERE warehouse_id = $1", warehouse_id
        )
        return int(seq or 0)

    async def frames_after(self, warehouse_id: int, seq: int, limit: int = 500) -> list[Frame]:
        """Messages after `seq`, in order: from memory when it reaches back that far."""
        recent = self.recent.get(warehouse_id)
        if recent and recent[0].seq <= seq + 1:
            if recent[-1].seq <= seq:
                return []
            # From the newest end: a socket is usually a message or two behind, and walking
            # the whole buffer for each of a thousand sockets was most of a hold's cost.
            newer = list(itertools.takewhile(lambda frame: frame.seq > seq, reversed(recent)))
            newer.reverse()
            return newer[:limit]
        if seq >= self.latest.get(warehouse_id, 0) and warehouse_id in self.latest:
            return []
        rows = await connection_pool().fetch(_FRAMES, warehouse_id, seq, limit)
        return [Frame(row["seq"], row["text"]) for row in rows]

    # -- subscribers -------------------------------------------------------------------------

    async def subscribe(self, subscriber: Subscriber) -> None:
        first = subscriber.warehouse_id not in self.latest
        self.subscribers.setdefault(subscriber.warehouse_id, set()).add(subscriber)
        if first:
            self.latest[subscriber.warehouse_id] = 0
            await self.refresh(subscriber.warehouse_id)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.get(subscriber.warehouse_id, set()).discard(subscriber)


hub = Hub()
"""This worker's hub."""


async def start_hub() -> None:
    """Startup hook: listen for live messages."""
    hub.start()


async def stop_hub() -> None:
    """Shutdown hook."""
    await hub.stop()
