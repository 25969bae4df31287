"""Offline handhelds: the snapshot they judge scans against, the replay of their queued scans,
and the exceptions a refused queued scan becomes.

A replayed scan goes through `record_scan`, the path of POST /api/scans, one transaction
each, so its verdict and its once-only effect are exactly a live scan's. The exception of a
refused offline scan is written by a trigger on `scan` with the scan row (migration 0008),
so a supervisor learns of every scan a picker was shown as accepted that did not happen.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.errors import DomainError, problem
from backend.fulfilment.picking import store_key
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.offline.schemas import (
    ExceptionStatus,
    ReplayIn,
    ReplayOut,
    ReplayResult,
    ResolveIn,
    ScanExceptionOut,
    Snapshot,
    SnapshotLocation,
    SnapshotLot,
    SnapshotProduct,
)
from backend.scanning.schemas import ScanIn, ScanOut
from backend.scanning.service import record_scan

__all__ = [
    "get_exception",
    "list_exceptions",
    "replay",
    "resolve_exception",
    "snapshot",
    "snapshot_etag",
]

_SUPERVISORS = frozenset({"supervisor"})

# --- the snapshot -------------------------------------------------------------------------

_WAREHOUSE = """
SELECT w.id, w.code, coalesce(q.last_seq, 0) AS seq, now() AS at
  FROM warehouse w LEFT JOIN live_sequence q ON q.warehouse_id = w.id
 WHERE w.code = $1"""

_PRODUCTS = """
SELECT p.id, p.sku, p.name, p.tracking,
       coalesce(array_agg(g.gtin ORDER BY g.gtin) FILTER (WHERE g.gtin IS NOT NULL), '{}')
           AS gtins
  FROM product p LEFT JOIN product_gtin g ON g.product_id = p.id
 GROUP BY p.id
 ORDER BY p.id"""

_LOTS = """
SELECT l.id, l.product_id, l.code, l.status, l.expiry_date
  FROM lot l
 WHERE l.status <> 'released'
    OR l.id IN (SELECT b.lot_id FROM stock_balance b JOIN location loc ON loc.id = b.location_id
                 WHERE loc.warehouse_id = $1 AND loc.kind <> 'customer' AND b.quantity > 0)
 ORDER BY l.id"""

_LOCATIONS = """
SELECT id, code, barcode, kind FROM location WHERE warehouse_id = $1 ORDER BY id"""


async def snapshot(conn: asyncpg.Connection, warehouse: str) -> Snapshot:
    """The warehouse's snapshot, read in one repeatable-read transaction so that it is
    exactly the state at `asOfSeq`."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found = await conn.fetchrow(_WAREHOUSE, warehouse)
        if found is None:
            raise DomainError("unknown_warehouse", f"No warehouse {warehouse}.", 422)
        products = await conn.fetch(_PRODUCTS)
        lots = await conn.fetch(_LOTS, found["id"])
        locations = await conn.fetch(_LOCATIONS, found["id"])
    return Snapshot(
        warehouse=found["code"],
        as_of_seq=found["seq"],
        generated_at=found["at"],
        products=[
            SnapshotProduct(
                id=r["id"], sku=r["sku"], name=r["name"], tracking=r["tracking"], gtins=r["gtins"]
            )
            for r in products
        ],
        lots=[
            SnapshotLot(
                id=r["id"],
                product_id=r["product_id"],
                code=r["code"],
                status=r["status"],
                expiry=r["expiry_date"],
            )
            for r in lots
        ],
        locations=[
            SnapshotLocation(id=r["id"], code=r["code"], barcode=r["barcode"], kind=r["kind"])
            for r in locations
        ],
    )


def snapshot_etag(found: Snapshot) -> str:
    """A weak tag of what the snapshot says, without when it was read: a device whose copy
    says the same is answered 304."""
    content = msgspec.json.encode((found.warehouse, found.products, found.lots, found.locations))
    return f'W/"{hashlib.sha256(content).hexdigest()[:32]}"'


# --- replay -------------------------------------------------------------------------------


async def replay(conn: asyncpg.Connection, data: ReplayIn, actor: Actor) -> ReplayOut:
    """Record the queued scans in order, each as POST /api/scans would, each on its own: a
    refused one gets its problem and the next is still recorded."""
    return ReplayOut(results=[await _replay_one(conn, data, item, actor) for item in data.scans])


async def _replay_one(
    conn: asyncpg.Connection, data: ReplayIn, item: dict[str, Any], actor: Actor
) -> ReplayResult:
    try:
        scan = msgspec.convert(item, ScanIn)
    except msgspec.ValidationError as error:
        return _refused(_key_of(item), problem(400, "invalid_request", str(error)))
    if scan.device_id != data.device_id:
        return _refused(
            scan.idempotency_key,
            problem(
                422,
                "replay_device_mismatch",
                f"The scan was queued on {scan.device_id}, not on {data.device_id}: every scan "
                "of a replay is the replaying device's.",
            ),
        )
    try:
        outcome = await record_scan(conn, scan, actor)
    except DomainError as error:
        return _refused(scan.idempotency_key, error.as_problem())
    except asyncpg.DataError:
        return _refused(
            scan.idempotency_key,
            problem(422, "invalid_value", "A value is out of range or malformed."),
        )
    except asyncpg.IntegrityConstraintViolationError:
        return _refused(
            scan.idempotency_key,
            problem(409, "constraint_violation", "The change breaks a stock rule."),
        )
    return ReplayResult(
        idempotency_key=scan.idempotency_key,
        status=outcome.status_code,
        replayed=outcome.replayed,
        scan=msgspec.json.decode(outcome.body, type=ScanOut),
        problem=None,
    )


def _key_of(item: dict[str, Any]) -> uuid.UUID | None:
    """The key of a scan that is not a valid scan, when that much of it is readable."""
    try:
        return uuid.UUID(str(item.get("idempotencyKey")))
    except ValueError:
        return None


def _refused(key: uuid.UUID | None, body: dict[str, Any]) -> ReplayResult:
    return ReplayResult(
        idempotency_key=key, status=body["status"], replayed=False, scan=None, problem=body
    )


# --- exceptions ---------------------------------------------------------------------------

_EXCEPTIONS = """
SELECT e.id, e.status, e.scan_id, s.idempotency_key, u.username AS user, s.device_key,
       w.code AS warehouse, s.context, s.raw, s.code, s.message, s.lot_id, l.code AS lot_code,
       p.sku, s.task_id, s.order_id, s.return_id, s.count_id, s.quantity, s.scanned_at,
       s.queued_at, s.recorded_at, e.created_at, e.resolution, e.note,
       r.username AS resolved_by, e.resolved_at, e.user_id
  FROM scan_exception e
  JOIN scan s ON s.id = e.scan_id
  JOIN app_user u ON u.id = e.user_id
  LEFT JOIN warehouse w ON w.id = e.warehouse_id
  LEFT JOIN lot l ON l.id = s.lot_id
  LEFT JOIN product p ON p.id = coalesce(l.product_id, s.product_id)
  LEFT JOIN app_user r ON r.id = e.resolved_by"""


def _exception_out(row: asyncpg.Record) -> ScanExceptionOut:
    return ScanExceptionOut(
        id=row["id"],
        status=row["status"],
        scan_id=row["scan_id"],
        idempotency_key=row["idempotency_key"],
        user=row["user"],
        device_id=row["device_key"],
        warehouse=row["warehouse"],
        context=row["context"],
        raw=row["raw"],
        code=row["code"],
        message=row["message"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        sku=row["sku"],
        task_id=row["task_id"],
        order_id=row["order_id"],
        return_id=row["return_id"],
        count_id=row["count_id"],
        quantity=row["quantity"],
        scanned_at=row["scanned_at"],
        queued_at=row["queued_at"],
        recorded_at=row["recorded_at"],
        created_at=row["created_at"],
        resolution=row["resolution"],
        note=row["note"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
    )


async def list_exceptions(
    conn: asyncpg.Connection,
    actor: Actor,
    status: ExceptionStatus | None,
    mine: bool,
    warehouse: str | None,
    limit: int,
) -> list[ScanExceptionOut]:
    """Exceptions, newest first: a supervisor's choice of all of them, anyone's own."""
    if not mine and not actor.has_any(_SUPERVISORS):
        raise DomainError(
            "scan_exceptions_forbidden",
            "Only a supervisor sees everyone's exceptions: ask for your own with mine=true.",
            403,
        )
    if warehouse is not None and (
        await conn.fetchval("SELECT id FROM warehouse WHERE code = $1", warehouse) is None
    ):
        raise DomainError("unknown_warehouse", f"No warehouse {warehouse}.", 422)
    rows = await conn.fetch(
        f"""{_EXCEPTIONS}
             WHERE ($1::text IS NULL OR e.status = $1)
               AND ($2::bigint IS NULL OR e.user_id = $2)
               AND ($3::text IS NULL OR w.code = $3)
             ORDER BY e.id DESC LIMIT $4""",
        status,
        actor.user_id if mine else None,
        warehouse,
        limit,
    )
    return [_exception_out(row) for row in rows]


async def get_exception(
    conn: asyncpg.Connection, exception_id: int, actor: Actor
) -> ScanExceptionOut:
    """One exception: any to a supervisor, their own to anyone else (404 otherwise)."""
    row = await conn.fetchrow(f"{_EXCEPTIONS} WHERE e.id = $1", exception_id)
    if row is None or (row["user_id"] != actor.user_id and not actor.has_any(_SUPERVISORS)):
        raise DomainError("scan_exception_not_found", f"No scan exception {exception_id}.", 404)
    return _exception_out(row)


def _keyed(data: ResolveIn) -> ResolveIn:
    if data.idempotency_key is not None:
        return data
    return msgspec.structs.replace(data, idempotency_key=uuid.uuid4())


async def resolve_exception(
    conn: asyncpg.Connection, exception_id: int, data: ResolveIn, actor: Actor
) -> Outcome:
    """Settle an open exception once; a retry with the same key answers the first result."""

    async def effect(key: Key) -> ScanExceptionOut:
        async with conn.transaction():
            status = await conn.fetchval(
                "SELECT status FROM scan_exception WHERE id = $1 FOR UPDATE", exception_id
            )
            if status is None:
                raise DomainError(
                    "scan_exception_not_found", f"No scan exception {exception_id}.", 404
                )
            if status == "resolved":
                raise DomainError(
                    "exception_resolved", f"Scan exception {exception_id} is resolved already.", 409
                )
            await conn.execute(
                """UPDATE scan_exception
                      SET status = 'resolved', resolution = $2, note = $3, resolved_by = $4,
                          resolved_at = now()
                    WHERE id = $1""",
                exception_id,
                data.resolution,
                data.note,
                actor.user_id,
            )
            body = await get_exception(conn, exception_id, actor)
            await store_key(conn, key, body, 200)
        return body

    async def replay_of(_: int) -> ScanExceptionOut:
        raise AssertionError("a resolution stores its response with its key")

    return await apply_once(
        conn, _keyed(data), "scan_exception_resolve", actor.user_id, effect, replay_of, 200
    )
