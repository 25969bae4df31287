"""The one way stock changes: a movement row and its balances, written together.

`transfer_statement` takes stock, puts it, writes the movement and stores the idempotency
key in one statement, atomic on its own; a write that needs more statements (serials, the
lot status check on the way to a customer) wraps them in a transaction. Taking stock is a
conditional update (`quantity - allocated >= n`), so concurrent takes of the last units
never oversell, and the CHECK constraints stop anything that slips past.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import asyncpg

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location, resolve_locations
from backend.db.reference_cache import ReferenceCache
from backend.errors import DomainError
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.schemas import AdjustmentIn, MoveIn, MovementOut, MovementResult

__all__ = [
    "Transfer",
    "adjust",
    "apply_transfer",
    "location_name",
    "lot_gate",
    "move",
    "movement_by_id",
    "movement_out",
    "movements_json",
    "replay_movement",
    "transfer_arguments",
    "transfer_statement",
    "written_movement",
]


@dataclass(slots=True)
class Transfer:
    """One change of stock for one lot, from a location, to a location, or both."""

    kind: str
    lot_id: int
    lot_code: str
    sku: str
    quantity: int
    from_location: asyncpg.Record | None = None
    to_location: asyncpg.Record | None = None
    serials: list[str] = field(default_factory=list)
    reason: str | None = None
    reference: str | None = None
    actor: Actor | None = None
    key: Key | None = None
    """Stored with the movement, in the same statement, when the write came with one."""
    order_line_id: int | None = None
    """The order line a pick, pack or ship serves."""
    allocated: bool = False
    """Take units allocated to an order (a pick) rather than free units."""


_MOVEMENT_SELECT = """
    SELECT m.id, m.kind, m.lot_id, l.code AS lot_code, p.sku, m.quantity, m.reason, m.reference,
           m.created_at,
           fw.code || '/' || f.code AS from_location, tw.code || '/' || t.code AS to_location,
           u.username,
           coalesce((SELECT array_agg(s.serial ORDER BY s.serial) FROM movement_serial ms
                       JOIN serial s ON s.id = ms.serial_id WHERE ms.movement_id = m.id),
                    '{}') AS serials
      FROM movement m
      JOIN lot l ON l.id = m.lot_id
      JOIN product p ON p.id = l.product_id
      LEFT JOIN location f ON f.id = m.from_location_id
      LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
      LEFT JOIN location t ON t.id = m.to_location_id
      LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
      LEFT JOIN app_user u ON u.id = m.user_id
"""


def movement_out(row: asyncpg.Record) -> MovementOut:
    return MovementOut(
        id=row["id"],
        kind=row["kind"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        sku=row["sku"],
        from_location=row["from_location"],
        to_location=row["to_location"],
        quantity=row["quantity"],
        serials=list(row["serials"]),
        reason=row["reason"],
        reference=row["reference"],
        user=row["username"],
        at=row["created_at"],
    )


async def movement_by_id(conn: asyncpg.Connection, movement_id: int) -> MovementOut:
    row = await conn.fetchrow(_MOVEMENT_SELECT + " WHERE m.id = $1", movement_id)
    return movement_out(row)


def movements_json(lot: str, limit: int) -> str:
    """SQL: the latest `limit` movements of the lot row `lot` (an alias with `id`, `code` and
    `sku`), newest first, as a JSON array of `MovementOut` (text), for one-query lot cards."""
    return f"""(SELECT coalesce(json_agg(json_build_object(
            'id', m.id, 'kind', m.kind, 'lotId', m.lot_id, 'lotCode', {lot}.code,
            'sku', {lot}.sku, 'from', fw.code || '/' || f.code, 'to', tw.code || '/' || t.code,
            'quantity', m.quantity,
            'serials', coalesce((SELECT array_agg(s.serial ORDER BY s.serial)
                                   FROM movement_serial ms JOIN serial s ON s.id = ms.serial_id
                                  WHERE ms.movement_id = m.id), '{{}}'),
            'reason', m.reason, 'reference', m.reference, 'user', u.username,
            'at', m.created_at)
          ORDER BY m.id DESC), '[]')
      FROM (SELECT * FROM movement WHERE lot_id = {lot}.id
             ORDER BY id DESC LIMIT {limit}) m
      LEFT JOIN location f ON f.id = m.from_location_id
      LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
      LEFT JOIN location t ON t.id = m.to_location_id
      LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
      LEFT JOIN app_user u ON u.id = m.user_id)::text"""


_NOT_RELEASED = {"hold": "lot_on_hold", "quarantine": "lot_quarantined", "recalled": "lot_recalled"}


def lot_gate(status: str, expiry: date | None, today: date) -> DomainError | None:
    """Why a lot may not go to a customer, or None when it may (DESIGN.md rule 3)."""
    if status != "released":
        return DomainError(
            _NOT_RELEASED.get(status, "lot_not_released"),
            f"The lot is {status}: it may not leave for a customer.",
            409,
        )
    if expiry is not None and expiry < today:
        return DomainError("lot_expired", f"The lot expired on {expiry.isoformat()}.", 409)
    return None


async def _check_destination(conn: asyncpg.Connection, transfer: Transfer) -> None:
    destination = transfer.to_location
    if destination is None or destination["kind"] != "customer":
        return
    lot = await conn.fetchrow(
        "SELECT status, expiry_date, current_date AS today FROM lot WHERE id = $1 FOR SHARE",
        transfer.lot_id,
    )
    refusal = lot_gate(lot["status"], lot["expiry_date"], lot["today"])
    if refusal is not None:
        raise refusal


async def _move_serials(conn: asyncpg.Connection, transfer: Transfer) -> list[int]:
    """Check every serial is in the lot and where the transfer takes it from; move them."""
    if len(set(transfer.serials)) != len(transfer.serials):
        raise DomainError("duplicate_serial", "The same serial is listed twice.", 422)
    if len(transfer.serials) != transfer.quantity:
        raise DomainError(
            "serial_count_mismatch",
            f"{transfer.quantity} units need exactly {transfer.quantity} serials.",
            422,
        )
    from_id = transfer.from_location["id"] if transfer.from_location else None
    to_id = transfer.to_location["id"] if transfer.to_location else None
    rows = await conn.fetch(
        """UPDATE serial SET location_id = $3
            WHERE lot_id = $1 AND serial = ANY($2::text[])
              AND location_id IS NOT DISTINCT FROM $4
           RETURNING id""",
        transfer.lot_id,
        transfer.serials,
        to_id,
        from_id,
    )
    if len(rows) != len(transfer.serials):
        raise DomainError(
            "serial_not_here",
            "A serial is not in this lot at the location the units come from.",
            409,
        )
    return [row["id"] for row in rows]


def transfer_statement(
    lot: str = "SELECT $2::bigint AS id",
    before: str = "",
    after: str = "",
    result: str = "",
    *,
    order_line: str = "NULL",
    allocated: bool = False,
) -> str:
    """The one statement that takes stock, puts it, writes the movement and stores the key.

    Parameters $1-$12 are the transfer's (see `apply_transfer`). The lot comes from the
    `lot` query (by default the id in $2); a caller may add CTEs `before` it, say to create
    the lot in the same statement, CTEs `after` the movement is written, and choose the
    `result` rows. Nothing is written unless the lot query finds a lot and the stock to take
    is there. `order_line` is the SQL of the order line the movement serves; `allocated`
    takes units reserved for it (a pick) rather than free ones.
    """
    take = "allocated >= $5" if allocated else "quantity - allocated >= $5"
    release = ", allocated = allocated - $5" if allocated else ""
    return f"""
WITH {before}
transfer_lot AS ({lot}),
taken AS (
    UPDATE stock_balance SET quantity = quantity - $5{release}, updated_at = now()
     WHERE $3::bigint IS NOT NULL AND lot_id = (SELECT id FROM transfer_lot)
       AND location_id = $3 AND {take}
    RETURNING 1
), allowed AS (
    SELECT EXISTS (SELECT 1 FROM transfer_lot)
           AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM taken)) AS ok
), put AS (
    INSERT INTO stock_balance (lot_id, location_id, quantity)
    SELECT (SELECT id FROM transfer_lot), $4, $5 FROM allowed WHERE ok AND $4::bigint IS NOT NULL
    ON CONFLICT (lot_id, location_id)
    DO UPDATE SET quantity = stock_balance.quantity + EXCLUDED.quantity, updated_at = now()
    RETURNING 1
), written AS (
    INSERT INTO movement (kind, lot_id, from_location_id, to_location_id, quantity, reason,
                          reference, user_id, device_id, idempotency_key, order_line_id)
    SELECT $1, (SELECT id FROM transfer_lot), $3, $4, $5, $6, $7, $8, $9, $10, {order_line}
      FROM allowed WHERE ok
    RETURNING id, lot_id, created_at
), keyed AS (
    INSERT INTO idempotency_key (key, operation, user_id, request_hash, status_code, movement_id)
    SELECT $10, $11, $8, $12, 201, id FROM written WHERE $10::uuid IS NOT NULL
){after}
{result or "SELECT id, lot_id, created_at FROM written"}
"""


_TRANSFERS = {
    allocated: transfer_statement(order_line="$13::bigint", allocated=allocated)
    for allocated in (False, True)
}
"""The statement of `apply_transfer`, by whether it takes allocated units; $13 the order
line."""


def transfer_arguments(transfer: Transfer) -> tuple[Any, ...]:
    """$1-$12 of `transfer_statement` for `transfer`."""
    actor, key = transfer.actor, transfer.key
    return (
        transfer.kind,
        transfer.lot_id,
        transfer.from_location["id"] if transfer.from_location else None,
        transfer.to_location["id"] if transfer.to_location else None,
        transfer.quantity,
        transfer.reason,
        transfer.reference,
        actor.user_id if actor else None,
        actor.device_id if actor else None,
        key.value if key else None,
        key.operation if key else None,
        key.digest if key else None,
    )


def written_movement(transfer: Transfer, movement_id: int, at: datetime) -> MovementOut:
    """The movement `transfer` wrote, as the API shows it."""
    actor = transfer.actor
    return MovementOut(
        id=movement_id,
        kind=transfer.kind,
        lot_id=transfer.lot_id,
        lot_code=transfer.lot_code,
        sku=transfer.sku,
        from_location=location_name(transfer.from_location),
        to_location=location_name(transfer.to_location),
        quantity=transfer.quantity,
        serials=sorted(transfer.serials),
        reason=transfer.reason,
        reference=transfer.reference,
        user=actor.username if actor else None,
        at=at,
    )


def location_name(location: asyncpg.Record | None) -> str | None:
    """`WAREHOUSE/CODE`, how movements name a location."""
    return None if location is None else f"{location['warehouse']}/{location['code']}"


async def apply_transfer(
    conn: asyncpg.Connection,
    transfer: Transfer,
    *,
    serial_ids: list[int] | None = None,
    statement: str | None = None,
    extra: tuple[Any, ...] = (),
) -> MovementOut:
    """Write one movement and its balances in one statement; return the movement.

    With serials or a customer destination it takes more statements, so the caller must
    then hold a transaction. `serial_ids` are serials the caller already placed; otherwise
    named serials are moved here. A caller may give its own `transfer_statement` (with
    `order_line="$13::bigint"`) that writes more in the same statement, and its parameters
    from $14 on in `extra`.
    """
    await _check_destination(conn, transfer)
    if serial_ids is None:
        serial_ids = await _move_serials(conn, transfer) if transfer.serials else []
    source = transfer.from_location
    written = await conn.fetchrow(
        statement or _TRANSFERS[transfer.allocated],
        *transfer_arguments(transfer),
        transfer.order_line_id,
        *extra,
    )
    if written is None:
        assert source is not None
        available = await conn.fetchval(
            f"""SELECT {"allocated" if transfer.allocated else "quantity - allocated"}
                  FROM stock_balance WHERE lot_id = $1 AND location_id = $2""",
            transfer.lot_id,
            source["id"],
        )
        kind = "allocated" if transfer.allocated else "free"
        raise DomainError(
            "insufficient_stock",
            f"Only {available or 0} {kind} units of this lot at {location_name(source)}; "
            f"{transfer.quantity} asked.",
            409,
            available=available or 0,
        )
    if serial_ids:
        await conn.execute(
            """INSERT INTO movement_serial (movement_id, serial_id)
               SELECT $1, unnest($2::bigint[])""",
            written["id"],
            serial_ids,
        )
    return written_movement(transfer, written["id"], written["created_at"])


_lots: ReferenceCache[int, asyncpg.Record] = ReferenceCache()


async def _lot_for_stock(conn: asyncpg.Connection, lot_id: int) -> asyncpg.Record:
    """A lot's fixed fields: its code and product never change."""
    cached = _lots.get(lot_id)
    if cached is not None:
        return cached
    lot = await conn.fetchrow(
        """SELECT l.id, l.code, p.sku, p.tracking FROM lot l JOIN product p ON p.id = l.product_id
            WHERE l.id = $1""",
        lot_id,
    )
    if lot is None:
        raise DomainError("unknown_lot", f"No lot {lot_id}.", 422)
    _lots.put(lot_id, lot)
    return lot


def _check_serials_given(tracking: str, serials: list[str] | None) -> None:
    if tracking in ("serial", "lot_serial") and not serials:
        raise DomainError("serials_required", "This product is tracked by serial: list them.", 422)
    if tracking not in ("serial", "lot_serial") and serials:
        raise DomainError("serials_not_tracked", "This product has no serials.", 422)


def _transaction_if(conn: asyncpg.Connection, needed: bool) -> AbstractAsyncContextManager[Any]:
    """A transaction when a write takes several statements; a single statement (the usual
    move or adjustment) is atomic on its own and saves the BEGIN and COMMIT round trips."""
    return conn.transaction() if needed else nullcontext()


async def replay_movement(conn: asyncpg.Connection, movement_id: int) -> MovementResult:
    """The result of an earlier move or adjustment, from its movement."""
    return MovementResult(movement=await movement_by_id(conn, movement_id))


async def move(conn: asyncpg.Connection, data: MoveIn, actor: Actor) -> Outcome:
    """Move units of a lot between two locations; applied once per idempotency key."""

    async def effect(key: Key) -> MovementResult:
        lot = await _lot_for_stock(conn, data.lot_id)
        _check_serials_given(lot["tracking"], data.serials)
        source, target = await resolve_locations(conn, data.from_location, data.to_location)
        if source["id"] == target["id"]:
            raise DomainError("same_location", "A move needs two different locations.", 422)
        async with _transaction_if(conn, bool(data.serials) or target["kind"] == "customer"):
            movement = await apply_transfer(
                conn,
                Transfer(
                    kind="move",
                    lot_id=lot["id"],
                    lot_code=lot["code"],
                    sku=lot["sku"],
                    quantity=data.quantity,
                    from_location=source,
                    to_location=target,
                    serials=list(data.serials or []),
                    reason=data.reason,
                    actor=actor,
                    key=key,
                ),
            )
        return MovementResult(movement=movement)

    return await apply_once(
        conn, data, "move", actor.user_id, effect, partial(replay_movement, conn)
    )


async def adjust(conn: asyncpg.Connection, data: AdjustmentIn, actor: Actor) -> Outcome:
    """Correct stock up or down at a location, with a reason; applied once per key."""
    if data.delta == 0:
        raise DomainError("zero_adjustment", "An adjustment changes stock: delta is not 0.", 422)

    async def effect(key: Key) -> MovementResult:
        lot = await _lot_for_stock(conn, data.lot_id)
        _check_serials_given(lot["tracking"], data.serials)
        location = await resolve_location(conn, data.location)
        if location["kind"] == "customer":
            raise DomainError(
                "invalid_location_kind", "Stock at a customer changes by shipping or returns.", 422
            )
        up = data.delta > 0
        if up and data.serials and len(data.serials) != data.delta:
            raise DomainError(
                "serial_count_mismatch", f"{data.delta} units need {data.delta} serials.", 422
            )
        async with _transaction_if(conn, bool(data.serials)):
            serial_ids = None
            if up and data.serials:
                serial_ids = await _serials_for_adjustment_up(
                    conn, lot["id"], data.serials, location
                )
            movement = await apply_transfer(
                conn,
                Transfer(
                    kind="adjustment",
                    lot_id=lot["id"],
                    lot_code=lot["code"],
                    sku=lot["sku"],
                    quantity=abs(data.delta),
                    from_location=None if up else location,
                    to_location=location if up else None,
                    serials=list(data.serials or []),
                    reason=data.reason,
                    actor=actor,
                    key=key,
                ),
                serial_ids=serial_ids,
            )
        return MovementResult(movement=movement)

    return await apply_once(
        conn, data, "adjustment", actor.user_id, effect, partial(replay_movement, conn)
    )


async def _serials_for_adjustment_up(
    conn: asyncpg.Connection, lot_id: int, serials: list[str], location: asyncpg.Record
) -> list[int]:
    """Serials found again (or for the first time) at `location` by an upward adjustment."""
    if len(serials) != len(set(serials)):
        raise DomainError("duplicate_serial", "The same serial is listed twice.", 422)
    product_id = await conn.fetchval("SELECT product_id FROM lot WHERE id = $1", lot_id)
    in_stock = await conn.fetchval(
        """SELECT count(*) FROM serial
            WHERE product_id = $1 AND serial = ANY($2::text[]) AND location_id IS NOT NULL""",
        product_id,
        serials,
    )
    if in_stock:
        raise DomainError("duplicate_serial", "A serial listed is already in stock.", 409)
    rows = await conn.fetch(
        """INSERT INTO serial (product_id, lot_id, serial, location_id)
           SELECT $1, $2, unnest($3::text[]), $4
           ON CONFLICT (product_id, serial) DO UPDATE SET location_id = EXCLUDED.location_id
           WHERE serial.lot_id = EXCLUDED.lot_id
           RETURNING id""",
        product_id,
        lot_id,
        serials,
        location["id"],
    )
    if len(rows) != len(serials):
        raise DomainError("serial_in_other_lot", "A serial listed belongs to another lot.", 409)
    return [row["id"] for row in rows]
