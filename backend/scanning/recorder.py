"""Recording scans in batches: one statement and one commit for every scan that arrived
while the previous batch was being written.

A floor scans thousands of times a second and every scan is recorded (DESIGN.md rule 4).
Written one by one, each scan pays a statement's round trip, protocol and commit; here a
worker writes the scans waiting at that moment together (a batch of one when the floor is
quiet, so nothing waits for company). Each request still waits until its own row is
committed before it answers, so a scan the handheld saw accepted is on record.

The recorder writes through a small pool of its own: requests hold a pooled connection
while they wait for their batch, and must not be able to starve the writer of one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from backend.db.engine import init_connection, keep_session
from backend.settings import get_settings

__all__ = [
    "ScanRow",
    "record",
    "record_in",
    "stop_recorder",
]

BATCH_LIMIT = 500
"""Most scans written by one statement."""

_COLUMNS = (
    ("idempotency_key", "uuid"),
    ("request_hash", "bytea"),
    ("user_id", "bigint"),
    ("device_key", "text"),
    ("device_id", "bigint"),
    ("context", "text"),
    ("raw", "text"),
    ("symbology", "text"),
    ("parsed", "text"),
    ("verdict", "text"),
    ("code", "text"),
    ("message", "text"),
    ("feedback", "text"),
    ("product_id", "bigint"),
    ("lot_id", "bigint"),
    ("serial", "text"),
    ("serial_id", "bigint"),
    ("location_id", "bigint"),
    ("task_id", "bigint"),
    ("order_id", "bigint"),
    ("return_id", "bigint"),
    ("count_id", "bigint"),
    ("quantity", "integer"),
    ("response", "text"),
    ("scanned_at", "timestamptz"),
    ("offline", "boolean"),
    ("queued_at", "timestamptz"),
)

_RECORD = f"""
INSERT INTO scan ({", ".join(name for name, _ in _COLUMNS)})
SELECT r.idempotency_key, r.request_hash, r.user_id, r.device_key,
       coalesce(r.device_id, (SELECT d.id FROM device d WHERE d.device_key = r.device_key)),
       r.context, r.raw, r.symbology, r.parsed::jsonb, r.verdict, r.code, r.message,
       r.feedback, r.product_id, r.lot_id, r.serial, r.serial_id, r.location_id, r.task_id,
       r.order_id, r.return_id, r.count_id, r.quantity, r.response::json, r.scanned_at,
       r.offline, r.queued_at
  FROM unnest({", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_COLUMNS, 1))})
       AS r({", ".join(name for name, _ in _COLUMNS)})
ON CONFLICT (user_id, idempotency_key) DO NOTHING
RETURNING user_id, idempotency_key"""
"""Record scans, except those whose user already sent a scan with the same key. The device
is the one the token was issued to, or else the one registered under the scan's
`deviceId`."""


@dataclass(frozen=True, slots=True)
class ScanRow:
    """One scan as the `scan` table keeps it (its columns, in `_COLUMNS` order)."""

    idempotency_key: uuid.UUID
    request_hash: bytes
    user_id: int
    device_key: str
    device_id: int | None
    context: str
    raw: str
    symbology: str | None
    parsed: str
    verdict: str
    code: str
    message: str
    feedback: str
    product_id: int | None
    lot_id: int | None
    serial: str | None
    serial_id: int | None
    location_id: int | None
    task_id: int | None
    order_id: int | None
    return_id: int | None
    count_id: int | None
    quantity: int | None
    response: str
    scanned_at: datetime
    offline: bool
    queued_at: datetime | None

    @property
    def key(self) -> tuple[int, uuid.UUID]:
        return (self.user_id, self.idempotency_key)


_Waiting = tuple[ScanRow, "asyncio.Future[bool]"]


class _Recorder:
    """A worker's queue of scans to write, and the task writing them."""

    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.writer: asyncio.Task[None] | None = None
        self.pool: asyncpg.Pool | None = None

    async def record(self, row: ScanRow) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append((row, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        while self.waiting:
            batch, later = _one_per_key(self.waiting[:BATCH_LIMIT])
            self.waiting = later + self.waiting[BATCH_LIMIT:]
            try:
                inserted = await self._insert([row for row, _ in batch])
            except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError):
                # One bad row must not refuse the others: write them one by one.
                for row, future in batch:
                    await self._settle_alone(row, future)
                continue
            except BaseException as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for row, future in batch:
                if not future.done():
                    future.set_result(row.key in inserted)

    async def _settle_alone(self, row: ScanRow, future: asyncio.Future[bool]) -> None:
        try:
            inserted = await self._insert([row])
        except Exception as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(row.key in inserted)

    async def _insert(self, rows: Sequence[ScanRow]) -> set[tuple[int, uuid.UUID]]:
        if self.pool is None:
            self.pool = await asyncpg.create_pool(
                get_settings().database_url,
                min_size=1,
                max_size=2,
                init=init_connection,
                reset=keep_session,
            )
        async with self.pool.acquire() as conn:
            return await _write(conn, rows)

    async def stop(self) -> None:
        if self.writer is not None:
            await asyncio.gather(self.writer, return_exceptions=True)
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


async def _write(conn: asyncpg.Connection, rows: Sequence[ScanRow]) -> set[tuple[int, uuid.UUID]]:
    """Insert `rows` in one statement; the keys of those written (not already there)."""
    columns = [[getattr(row, name) for row in rows] for name, _ in _COLUMNS]
    written = await conn.fetch(_RECORD, *columns)
    return {(found["user_id"], found["idempotency_key"]) for found in written}


def _one_per_key(waiting: list[_Waiting]) -> tuple[list[_Waiting], list[_Waiting]]:
    """Split off the repeats of a key (a handheld's racing retries) for the next batch, so
    the rows a statement returns say exactly which waiting scan was written."""
    seen: set[tuple[int, uuid.UUID]] = set()
    batch: list[_Waiting] = []
    later: list[_Waiting] = []
    for item in waiting:
        key = item[0].key
        (later if key in seen else batch).append(item)
        seen.add(key)
    return batch, later


_recorder = _Recorder()


async def record(row: ScanRow) -> bool:
    """Write `row` with the scans waiting alongside it; False when this user already sent a
    scan with its idempotency key (nothing is written then)."""
    return await _recorder.record(row)


async def record_in(conn: asyncpg.Connection, row: ScanRow) -> bool:
    """Write `row` on `conn`, in the caller's transaction, for a scan whose effect (a pick,
    a pack) must commit with it or not at all; False when its key was used already."""
    return bool(await _write(conn, [row]))


async def stop_recorder() -> None:
    """Shutdown hook: finish the batch in flight and close the recorder's connections."""
    await _recorder.stop()
