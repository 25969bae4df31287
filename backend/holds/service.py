"""Holds, quarantines and recalls: choose the lots, show what they touch, place and release.

Placing a hold is one transaction: the lots are locked and their status raised (a pick or
pack of them waits for it, and then is refused: they read the lot `FOR SHARE`), the hold and
its lots are recorded with their status before, every warehouse's handhelds get `lot.held`,
and the open pick tasks on those lots move to the next eligible lot or go short, each with a
`task.reallocated` message (backend/fulfilment/reallocation.py). Releasing sets each lot back
to what its other active holds say, or released.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location
from backend.errors import DomainError
from backend.fulfilment.picking import Scanned, Step, store_key
from backend.fulfilment.reallocation import Moved, reallocate_tasks
from backend.holds.schemas import (
    HoldIn,
    HoldLot,
    HoldOut,
    Impact,
    ImpactIn,
    InFlight,
    OpenTask,
    Reallocation,
    ReleaseIn,
    ShippedTo,
    StockAt,
)
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer
from backend.live.outbox import publish_everywhere

__all__ = [
    "get_hold",
    "impact",
    "list_holds",
    "place_hold",
    "quarantine_scan",
    "release_hold",
    "select_lots",
]

STATUS_OF = {"hold": "hold", "quarantine": "quarantine", "recall": "recalled"}
"""The lot status each kind of hold sets."""
SEVERITY = {"released": 0, "hold": 1, "quarantine": 2, "recalled": 3}
"""A lot under several holds takes the most severe status among them."""


# --- which lots ---------------------------------------------------------------------------


async def select_lots(conn: asyncpg.Connection, data: ImpactIn) -> list[int]:
    """The lots a hold names, by exactly one of: ids, product and production dates, or
    supplier lot code; 422 when the choice is ambiguous or names no lot."""
    ways = [
        data.lots is not None,
        data.sku is not None,
        data.supplier_lot_code is not None,
    ]
    if sum(ways) != 1:
        raise DomainError(
            "hold_selector",
            "Name the lots one way: `lots`, or `sku` with `producedFrom`/`producedTo`, "
            "or `supplierLotCode`.",
            422,
        )
    if data.sku is None and (data.produced_from or data.produced_to):
        raise DomainError("hold_selector", "Production dates go with `sku`.", 422)
    if data.produced_from and data.produced_to and data.produced_from > data.produced_to:
        raise DomainError("hold_selector", "`producedFrom` is after `producedTo`.", 422)
    if data.lots is not None:
        rows = await conn.fetch("SELECT id FROM lot WHERE id = ANY($1::bigint[])", data.lots)
        found = {row["id"] for row in rows}
        missing = sorted(set(data.lots) - found)
        if missing:
            raise DomainError(
                "unknown_lot", f"No lot {', '.join(map(str, missing[:20]))}.", 422, lots=missing
            )
        return sorted(found)
    if data.sku is not None:
        product = await conn.fetchval("SELECT id FROM product WHERE sku = $1", data.sku)
        if product is None:
            raise DomainError("unknown_product", f"No product with SKU {data.sku!r}.", 422)
        rows = await conn.fetch(
            """SELECT id FROM lot WHERE product_id = $1
                  AND ($2::date IS NULL OR production_date >= $2)
                  AND ($3::date IS NULL OR production_date <= $3)
                  AND (($2::date IS NULL AND $3::date IS NULL) OR production_date IS NOT NULL)
                ORDER BY id""",
            product,
            data.produced_from,
            data.produced_to,
        )
    else:
        rows = await conn.fetch(
            "SELECT id FROM lot WHERE supplier_lot_code = $1 ORDER BY id", data.supplier_lot_code
        )
    if not rows:
        raise DomainError("no_lots", "No lot matches: nothing to hold.", 422)
    return [row["id"] for row in rows]


# --- impact -------------------------------------------------------------------------------

_LOTS = """
SELECT l.id, l.code, p.sku, l.status FROM lot l JOIN product p ON p.id = l.product_id
 WHERE l.id = ANY($1::bigint[]) ORDER BY l.id"""

_ON_HAND = """
SELECT b.lot_id, l.code AS lot_code, w.code || '/' || loc.code AS location, loc.kind,
       b.quantity, b.allocated
  FROM stock_balance b
  JOIN lot l ON l.id = b.lot_id
  JOIN location loc ON loc.id = b.location_id
  JOIN warehouse w ON w.id = loc.warehouse_id
 WHERE b.lot_id = ANY($1::bigint[]) AND b.quantity > 0 AND loc.kind <> 'customer'
 ORDER BY l.id, w.code, loc.walk_sequence, loc.code"""

_OPEN_TASKS = """
SELECT t.id, t.order_id, o.external_id, l.code AS lot_code, w.code || '/' || b.code AS bin,
       t.quantity - t.picked - t.short AS units, u.username
  FROM pick_task t
  JOIN sales_order o ON o.id = t.order_id
  JOIN lot l ON l.id = t.lot_id
  JOIN location b ON b.id = t.location_id
  JOIN warehouse w ON w.id = b.warehouse_id
  LEFT JOIN app_user u ON u.id = t.assignee_id
 WHERE t.lot_id = ANY($1::bigint[]) AND t.status = 'open'
 ORDER BY t.id"""

_IN_FLIGHT = """
SELECT t.lot_id, l.code AS lot_code, t.order_id, o.external_id, stage.name AS stage,
       w.code || '/' || loc.code AS location, sum(stage.units)::bigint AS units
  FROM pick_task t
  JOIN sales_order o ON o.id = t.order_id
  JOIN lot l ON l.id = t.lot_id
  CROSS JOIN LATERAL (VALUES ('picked', t.picked - t.packed, t.tote_id),
                             ('packed', t.packed - t.shipped, o.pack_station_id))
       AS stage(name, units, location_id)
  LEFT JOIN location loc ON loc.id = stage.location_id
  LEFT JOIN warehouse w ON w.id = loc.warehouse_id
 WHERE t.lot_id = ANY($1::bigint[]) AND stage.units > 0
 GROUP BY t.lot_id, l.code, t.order_id, o.external_id, stage.name, w.code, loc.code
 ORDER BY t.lot_id, t.order_id, stage.name DESC"""

_SHIPPED = """
SELECT m.lot_id, l.code AS lot_code, o.id AS order_id, o.external_id, c.code AS channel,
       cu.ref, cu.name, cu.email, o.country, sum(m.quantity)::bigint AS units,
       max(m.created_at) AS at
  FROM movement m
  JOIN lot l ON l.id = m.lot_id
  JOIN order_line ol ON ol.id = m.order_line_id
  JOIN sales_order o ON o.id = ol.order_id
  JOIN channel c ON c.id = o.channel_id
  JOIN customer cu ON cu.id = o.customer_id
 WHERE m.lot_id = ANY($1::bigint[]) AND m.kind = 'ship'
 GROUP BY m.lot_id, l.code, o.id, o.external_id, c.code, cu.ref, cu.name, cu.email, o.country
 ORDER BY m.lot_id, o.id"""


async def impact(conn: asyncpg.Connection, lot_ids: list[int]) -> Impact:
    """What a hold of these lots touches: stock by location, open allocations and tasks,
    units picked or packed but not shipped (to pull back), and who already got them."""
    lots = await conn.fetch(_LOTS, lot_ids)
    on_hand = await conn.fetch(_ON_HAND, lot_ids)
    tasks = await conn.fetch(_OPEN_TASKS, lot_ids)
    flying = await conn.fetch(_IN_FLIGHT, lot_ids)
    shipped = await conn.fetch(_SHIPPED, lot_ids)
    return Impact(
        lots=[_hold_lot(row) for row in lots],
        on_hand=[
            StockAt(
                lot_id=r["lot_id"],
                lot_code=r["lot_code"],
                location=r["location"],
                kind=r["kind"],
                quantity=r["quantity"],
                allocated=r["allocated"],
            )
            for r in on_hand
        ],
        open_tasks=[
            OpenTask(
                task_id=r["id"],
                order_id=r["order_id"],
                order_external_id=r["external_id"],
                lot_code=r["lot_code"],
                bin=r["bin"],
                units=r["units"],
                assignee=r["username"],
            )
            for r in tasks
        ],
        in_flight=[
            InFlight(
                lot_id=r["lot_id"],
                lot_code=r["lot_code"],
                order_id=r["order_id"],
                order_external_id=r["external_id"],
                stage=r["stage"],
                location=r["location"],
                units=r["units"],
            )
            for r in flying
        ],
        shipped=[
            ShippedTo(
                lot_id=r["lot_id"],
                lot_code=r["lot_code"],
                order_id=r["order_id"],
                order_external_id=r["external_id"],
                channel=r["channel"],
                customer_ref=r["ref"],
                customer=r["name"],
                email=r["email"],
                country=r["country"],
                units=r["units"],
                shipped_at=r["at"],
            )
            for r in shipped
        ],
        units_on_hand=sum(r["quantity"] for r in on_hand if r["kind"] != "customer"),
        units_shipped=sum(r["units"] for r in shipped),
        customers=len({(r["channel"], r["ref"]) for r in shipped}),
    )


def _hold_lot(row: asyncpg.Record, before: str | None = None) -> HoldLot:
    return HoldLot(
        id=row["id"], code=row["code"], sku=row["sku"], status=row["status"], status_before=before
    )


# --- placing and releasing ----------------------------------------------------------------

Keyed = TypeVar("Keyed", HoldIn, ReleaseIn)


def keyed(data: Keyed) -> Keyed:
    """The request with its idempotency key, or a fresh one (API.md lets a console omit it)."""
    if data.idempotency_key is not None:
        return data
    return msgspec.structs.replace(data, idempotency_key=uuid.uuid4())


_HOLD_SELECT = """
SELECT h.*, p.username AS placed_by_name, r.username AS released_by_name
  FROM hold h JOIN app_user p ON p.id = h.placed_by LEFT JOIN app_user r ON r.id = h.released_by
"""

_HOLD_LOTS = """
SELECT l.id, l.code, p.sku, l.status, hl.status_before
  FROM hold_lot hl JOIN lot l ON l.id = hl.lot_id JOIN product p ON p.id = l.product_id
 WHERE hl.hold_id = $1 ORDER BY l.id"""


_HOLDS_LOTS = """
SELECT hl.hold_id, l.id, l.code, p.sku, l.status, hl.status_before
  FROM hold_lot hl JOIN lot l ON l.id = hl.lot_id JOIN product p ON p.id = l.product_id
 WHERE hl.hold_id = ANY($1::bigint[]) ORDER BY hl.hold_id, l.id"""


def _hold_row_out(
    row: asyncpg.Record,
    lots: list[asyncpg.Record],
    found: Impact | None = None,
    moved: list[Moved] | None = None,
) -> HoldOut:
    return HoldOut(
        id=row["id"],
        kind=row["kind"],
        reason=row["reason"],
        placed_by=row["placed_by_name"],
        placed_at=row["placed_at"],
        released_by=row["released_by_name"],
        released_at=row["released_at"],
        release_reason=row["release_reason"],
        lots=[_hold_lot(lot, lot["status_before"]) for lot in lots],
        impact=found,
        reallocated=[
            Reallocation(
                task_id=m.task_id,
                new_task_id=m.new_task_id,
                order_id=m.order_id,
                old_lot=m.old_lot,
                new_lot=m.new_lot,
                bin=m.bin,
                units=m.units,
                short=m.short,
            )
            for m in moved or []
        ],
    )


async def _hold_out(
    conn: asyncpg.Connection,
    hold_id: int,
    found: Impact | None = None,
    moved: list[Moved] | None = None,
) -> HoldOut:
    row = await conn.fetchrow(_HOLD_SELECT + " WHERE h.id = $1", hold_id)
    if row is None:
        raise DomainError("hold_not_found", f"No hold {hold_id}.", 404)
    lots = await conn.fetch(_HOLD_LOTS, hold_id)
    return _hold_row_out(row, lots, found, moved)


def _selector(data: ImpactIn) -> dict[str, Any]:
    return {
        name: value
        for name, value in msgspec.to_builtins(data).items()
        if name in ("lots", "sku", "producedFrom", "producedTo", "supplierLotCode")
    }


async def place_hold(conn: asyncpg.Connection, data: HoldIn, actor: Actor) -> Outcome:
    """Hold, quarantine or recall the lots, with every effect, in one transaction; once per
    idempotency key."""

    async def effect(key: Key) -> HoldOut:
        async with conn.transaction():
            lot_ids = await select_lots(conn, data)
            before = await conn.fetch(
                "SELECT id, status FROM lot WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                lot_ids,
            )
            found = await impact(conn, lot_ids)
            hold_id = await conn.fetchval(
                """INSERT INTO hold (kind, reason, selector, placed_by)
                   VALUES ($1, $2, $3::jsonb, $4) RETURNING id""",
                data.kind,
                data.reason,
                msgspec.json.encode(_selector(data)).decode(),
                actor.user_id,
            )
            await conn.execute(
                """INSERT INTO hold_lot (hold_id, lot_id, status_before)
                   SELECT $1, unnest($2::bigint[]), unnest($3::text[])""",
                hold_id,
                [row["id"] for row in before],
                [row["status"] for row in before],
            )
            status = STATUS_OF[data.kind]
            raised = [row["id"] for row in before if SEVERITY[row["status"]] < SEVERITY[status]]
            await conn.execute(
                """UPDATE lot SET status = $2, status_reason = $3, status_by = $4,
                          status_at = now()
                    WHERE id = ANY($1::bigint[])""",
                raised,
                status,
                data.reason,
                actor.user_id,
            )
            await publish_everywhere(
                conn,
                "lot.held",
                [
                    {
                        "holdId": hold_id,
                        "kind": data.kind,
                        "lotId": lot.id,
                        "lotCode": lot.code,
                        "sku": lot.sku,
                        "status": status if lot.id in raised else lot.status,
                        "reason": data.reason,
                        "by": actor.username,
                    }
                    for lot in found.lots
                ],
            )
            moved = await reallocate_tasks(conn, lot_ids, hold_id)
            body = await _hold_out(conn, hold_id, found, moved)
            await store_key(conn, key, body, 201)
        return body

    async def replay(_: int) -> HoldOut:
        raise AssertionError("a hold stores its response with its key")

    return await apply_once(conn, keyed(data), "hold", actor.user_id, effect, replay)


async def release_hold(
    conn: asyncpg.Connection, hold_id: int, data: ReleaseIn, actor: Actor
) -> Outcome:
    """Release a hold: each of its lots takes the status of its other active holds, or
    released; once per idempotency key."""

    async def effect(key: Key) -> HoldOut:
        async with conn.transaction():
            hold = await conn.fetchrow("SELECT * FROM hold WHERE id = $1 FOR UPDATE", hold_id)
            if hold is None:
                raise DomainError("hold_not_found", f"No hold {hold_id}.", 404)
            if hold["released_at"] is not None:
                raise DomainError("hold_released", "This hold is released already.", 409)
            await conn.execute(
                """UPDATE hold SET released_by = $2, released_at = now(), release_reason = $3
                    WHERE id = $1""",
                hold_id,
                actor.user_id,
                data.reason,
            )
            lots = await conn.fetch(
                """SELECT l.id, l.code, p.sku
                     FROM hold_lot hl JOIN lot l ON l.id = hl.lot_id
                     JOIN product p ON p.id = l.product_id
                    WHERE hl.hold_id = $1 ORDER BY l.id FOR UPDATE OF l""",
                hold_id,
            )
            released = []
            for lot in lots:
                remaining = await conn.fetch(
                    """SELECT h.kind, h.reason FROM hold_lot o JOIN hold h ON h.id = o.hold_id
                        WHERE o.lot_id = $1 AND h.released_at IS NULL""",
                    lot["id"],
                )
                if remaining:
                    worst = max(remaining, key=lambda r: SEVERITY[STATUS_OF[r["kind"]]])
                    await conn.execute(
                        """UPDATE lot SET status = $2, status_reason = $3, status_by = $4,
                                  status_at = now() WHERE id = $1""",
                        lot["id"],
                        STATUS_OF[worst["kind"]],
                        worst["reason"],
                        actor.user_id,
                    )
                    continue
                await conn.execute(
                    """UPDATE lot SET status = 'released', status_reason = NULL, status_by = $2,
                              status_at = now() WHERE id = $1""",
                    lot["id"],
                    actor.user_id,
                )
                released.append(
                    {
                        "holdId": hold_id,
                        "lotId": lot["id"],
                        "lotCode": lot["code"],
                        "sku": lot["sku"],
                        "reason": data.reason,
                        "by": actor.username,
                    }
                )
            await publish_everywhere(conn, "lot.released", released)
            body = await _hold_out(conn, hold_id)
            await store_key(conn, key, body, 200)
        return body

    async def replay(_: int) -> HoldOut:
        raise AssertionError("a release stores its response with its key")

    return await apply_once(conn, keyed(data), "release", actor.user_id, effect, replay, 200)


async def get_hold(conn: asyncpg.Connection, hold_id: int) -> HoldOut:
    return await _hold_out(conn, hold_id)


async def list_holds(conn: asyncpg.Connection, active: bool | None, limit: int) -> list[HoldOut]:
    """The newest holds (active ones, released ones or both), each with its lots: two
    statements however many holds."""
    rows = await conn.fetch(
        _HOLD_SELECT
        + """ WHERE $1::boolean IS NULL OR (h.released_at IS NULL) = $1
            ORDER BY h.id DESC LIMIT $2""",
        active,
        limit,
    )
    lots: dict[int, list[asyncpg.Record]] = {row["id"]: [] for row in rows}
    for lot in await conn.fetch(_HOLDS_LOTS, list(lots)):
        lots[lot["hold_id"]].append(lot)
    return [_hold_row_out(row, lots[row["id"]]) for row in rows]


# --- pulling held stock into quarantine ---------------------------------------------------

_HELD_HERE = """
SELECT l.id, l.code, l.status, l.status_reason, p.sku, p.tracking,
       coalesce(b.quantity - b.allocated, 0) AS free
  FROM lot l JOIN product p ON p.id = l.product_id
  LEFT JOIN stock_balance b ON b.lot_id = l.id AND b.location_id = $2
 WHERE l.id = $1
   FOR SHARE OF l"""


async def quarantine_scan(
    conn: asyncpg.Connection,
    scanned: Scanned,
    location: str | None,
    quantity: int | None,
    actor: Actor,
) -> Step:
    """Move a held, quarantined or recalled lot's units from the scanned location to the
    warehouse's quarantine (in the scan's transaction): all of them, or `quantity`."""
    if scanned.product_id is None:
        return Step("scan_a_unit", "Scan the unit's barcode (its GTIN and lot).")
    if scanned.lot_id is None:
        return Step("lot_required", "Scan the unit's lot barcode, not the product's alone.")
    if location is None:
        return Step("location_required", "Scan the bin or tote the units are in first.")
    try:
        source = await resolve_location(conn, location)
    except DomainError as error:
        return Step(error.code, error.detail)
    lot = await conn.fetchrow(_HELD_HERE, scanned.lot_id, source["id"])
    if lot["status"] == "released":
        return Step("lot_released", f"Lot {lot['code']} is released: nothing to pull.")
    if lot["tracking"] in ("serial", "lot_serial") and scanned.serial is None:
        return Step("serial_required", f"{lot['sku']} is tracked by serial: scan a unit.")
    units = 1 if scanned.serial is not None else (quantity or lot["free"])
    if lot["free"] == 0:
        return Step("nothing_here", f"No unit of lot {lot['code']} is at {location}.")
    target = await conn.fetchval(
        """SELECT barcode FROM location WHERE warehouse_id = $1 AND kind = 'quarantine'
            AND active ORDER BY walk_sequence, code LIMIT 1""",
        await conn.fetchval("SELECT warehouse_id FROM location WHERE id = $1", source["id"]),
    )
    if target is None:
        return Step("no_quarantine_location", "This warehouse has no quarantine location.")
    destination = await resolve_location(conn, target)
    await apply_transfer(
        conn,
        Transfer(
            kind="move",
            lot_id=lot["id"],
            lot_code=lot["code"],
            sku=lot["sku"],
            quantity=units,
            from_location=source,
            to_location=destination,
            serials=[scanned.serial] if scanned.serial is not None else [],
            reason=f"Pulled to quarantine: {lot['status_reason'] or lot['status']}",
            actor=actor,
        ),
    )
    return Step(
        "quarantined",
        f"Moved {units} of lot {lot['code']} ({lot['status']}) to {destination['code']}.",
        lot_id=lot["id"],
    )
