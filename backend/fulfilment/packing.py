"""Packing and shipping: every unit's lot checked against the order, then out to the customer.

A pack scan is judged and applied in the scan's transaction, like a pick: the order is
locked, the scanned lot must be one picked for a line of the order and not yet packed, its
status is checked `FOR SHARE` in the same transaction, and the units move in the ledger from
the picker's tote to the pack station, each movement naming its order line (and serials).
Shipping moves what was packed to the customer's own location (DESIGN.md rule 2), so
"which customers got lot X" is a ledger query.
"""

from __future__ import annotations

import asyncpg

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location
from backend.errors import DomainError
from backend.fulfilment.orders import ORDER_RULES, get_order, line_demand, refresh_order_status
from backend.fulfilment.picking import Scanned, Step, gate_code, lot_state, store_key
from backend.fulfilment.schemas import OrderOut, ShipIn
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer

__all__ = ["pack_scan", "ship_order"]

_ORDER_FOR_PACK = f"""
SELECT o.id, o.status, o.warehouse_id, w.code AS warehouse, o.pack_station_id,
       o.customer_id, {ORDER_RULES}
  FROM sales_order o
  JOIN warehouse w ON w.id = o.warehouse_id
  JOIN channel c ON c.id = o.channel_id
  JOIN customer cu ON cu.id = o.customer_id
 WHERE o.id = $1
   FOR UPDATE OF o"""

_PICKED_OF_PRODUCT = """
SELECT t.id, t.order_line_id, t.lot_id, l.code AS lot_code, t.picked - t.packed AS unpacked,
       t.tote_id, p.sku
  FROM pick_task t
  JOIN order_line ol ON ol.id = t.order_line_id
  JOIN lot l ON l.id = t.lot_id
  JOIN product p ON p.id = ol.product_id
 WHERE t.order_id = $1 AND ol.product_id = $2
 ORDER BY t.order_line_id, t.id"""

_LOT_STATUS = """
SELECT l.id AS lot_id, l.code, l.product_id, l.status, l.received_at,
       coalesce(l.expiry_date, l.best_before_date) AS expiry,
       coalesce((SELECT array_agg(country) FROM lot_barred_country bc WHERE bc.lot_id = l.id),
                '{}') AS barred
  FROM lot l WHERE l.id = $1
   FOR SHARE"""


async def _lot_refusal(
    conn: asyncpg.Connection, order: asyncpg.Record, lot_id: int, line_id: int
) -> tuple[str, str] | None:
    """Why the lot may not go to this order now (read `FOR SHARE`: a hold waits for us)."""
    lot = await conn.fetchrow(_LOT_STATUS, lot_id)
    return gate_code(lot_state(lot), line_demand(order, line_id, lot["product_id"], 1, dated=False))


async def _station(
    conn: asyncpg.Connection, order: asyncpg.Record, station: str | None
) -> asyncpg.Record | None:
    if station is not None:
        row = await resolve_location(conn, station)
        if row["kind"] != "pack_station" or row["warehouse"] != order["warehouse"]:
            raise DomainError(
                "invalid_location_kind",
                f"{station} is not a pack station of {order['warehouse']}.",
                422,
            )
        return row
    station_id = order["pack_station_id"] or await conn.fetchval(
        """SELECT id FROM location WHERE warehouse_id = $1 AND kind = 'pack_station' AND active
            ORDER BY walk_sequence, code LIMIT 1""",
        order["warehouse_id"],
    )
    if station_id is None:
        return None
    barcode = await conn.fetchval("SELECT barcode FROM location WHERE id = $1", station_id)
    return await resolve_location(conn, barcode)


async def _location(conn: asyncpg.Connection, location_id: int) -> asyncpg.Record:
    barcode = await conn.fetchval("SELECT barcode FROM location WHERE id = $1", location_id)
    return await resolve_location(conn, barcode)


async def pack_scan(
    conn: asyncpg.Connection,
    order_id: int,
    scanned: Scanned,
    quantity: int | None,
    station: str | None,
    actor: Actor,
) -> Step:
    """Judge a pack scan against the order and, when it fits, pack the units (in the
    caller's transaction): 1 by default, `quantity` for a whole line at once."""
    order = await conn.fetchrow(_ORDER_FOR_PACK, order_id)
    if order is None:
        return Step("unknown_order", f"There is no order {order_id}.")
    if order["status"] == "shipped":
        return Step("order_shipped", "This order has shipped already.")
    if scanned.product_id is None:
        return Step("scan_a_unit", "Scan a unit's barcode (its GTIN and lot).")
    tasks = await conn.fetch(_PICKED_OF_PRODUCT, order_id, scanned.product_id)
    if not tasks:
        return Step("not_on_order", "This product is not on the order: put it aside.")
    if scanned.lot_id is None and scanned.tracking != "none":
        return Step("lot_required", "Scan the unit's lot barcode, not the product's alone.")
    if scanned.tracking in ("serial", "lot_serial") and scanned.serial is None:
        return Step("serial_required", "This product is tracked by serial: scan a unit.")
    units = 1 if scanned.serial is not None else (quantity or 1)
    mine = [t for t in tasks if scanned.lot_id is None or t["lot_id"] == scanned.lot_id]
    if not mine:
        picked = sorted({t["lot_code"] for t in tasks})
        return Step(
            "wrong_lot_for_order",
            f"Not the lot picked for this order: it has lot {', '.join(picked)} of "
            f"{tasks[0]['sku']}. Put this unit aside.",
            lot_id=scanned.lot_id,
        )
    unpacked = sum(t["unpacked"] for t in mine)
    if units > unpacked:
        return Step(
            "already_packed",
            f"Only {unpacked} picked unit(s) of this lot are left to pack; {units} scanned.",
            lot_id=mine[0]["lot_id"],
        )
    refused = await _lot_refusal(conn, order, mine[0]["lot_id"], mine[0]["order_line_id"])
    if refused is not None:
        return Step(*refused, lot_id=mine[0]["lot_id"])
    target = await _station(conn, order, station)
    if target is None:
        return Step("no_pack_station", "The warehouse has no pack station.")
    left = units
    for task in mine:
        portion = min(left, task["unpacked"])
        if portion == 0:
            continue
        await apply_transfer(
            conn,
            Transfer(
                kind="pack",
                lot_id=task["lot_id"],
                lot_code=task["lot_code"],
                sku=task["sku"],
                quantity=portion,
                from_location=await _location(conn, task["tote_id"]),
                to_location=target,
                serials=[scanned.serial] if scanned.serial is not None else [],
                reference=f"order {order_id}",
                actor=actor,
                order_line_id=task["order_line_id"],
            ),
        )
        await conn.execute(
            "UPDATE pick_task SET packed = packed + $2, updated_at = now() WHERE id = $1",
            task["id"],
            portion,
        )
        left -= portion
        if left == 0:
            break
    await conn.execute(
        "UPDATE sales_order SET pack_station_id = $2 WHERE id = $1", order_id, target["id"]
    )
    await refresh_order_status(conn, order_id)
    remaining = unpacked - units
    return Step(
        "packed",
        f"Packed {units} of lot {mine[0]['lot_code']}"
        + (f"; {remaining} more of it to pack." if remaining else "."),
        lot_id=mine[0]["lot_id"],
    )


# --- shipping ---------------------------------------------------------------------------

_TO_SHIP = """
SELECT t.id, t.order_line_id, t.lot_id, l.code AS lot_code, p.sku, p.tracking,
       t.packed - t.shipped AS quantity
  FROM pick_task t
  JOIN lot l ON l.id = t.lot_id
  JOIN order_line ol ON ol.id = t.order_line_id
  JOIN product p ON p.id = ol.product_id
 WHERE t.order_id = $1 AND t.packed > t.shipped
 ORDER BY t.id"""

_PACKED_SERIALS = """
SELECT DISTINCT s.serial FROM movement m
  JOIN movement_serial ms ON ms.movement_id = m.id
  JOIN serial s ON s.id = ms.serial_id
 WHERE m.order_line_id = $1 AND m.lot_id = $2 AND m.kind = 'pack' AND s.location_id = $3
 ORDER BY s.serial"""


async def _customer_location(conn: asyncpg.Connection, order: asyncpg.Record) -> asyncpg.Record:
    """The customer's own location in the order's warehouse, made on first shipment."""
    code = f"CUSTOMER-{order['customer_id']}"
    await conn.execute(
        """INSERT INTO location (warehouse_id, code, barcode, kind, zone)
           VALUES ($1, $2, $3, 'customer', 'CUSTOMERS')
           ON CONFLICT (warehouse_id, code) DO NOTHING""",
        order["warehouse_id"],
        code,
        f"{code}@{order['warehouse']}",
    )
    return await resolve_location(conn, f"{code}@{order['warehouse']}")


async def ship_order(
    conn: asyncpg.Connection, order_id: int, data: ShipIn, actor: Actor
) -> Outcome:
    """Ship every packed unit of the order to its customer, all or nothing; once per key."""

    async def effect(key: Key) -> OrderOut:
        async with conn.transaction():
            order = await conn.fetchrow(_ORDER_FOR_PACK, order_id)
            if order is None:
                raise DomainError("order_not_found", f"No order {order_id}.", 404)
            _check_shippable(order)
            open_units = await conn.fetchrow(
                """SELECT coalesce(sum(quantity - picked - short), 0) AS to_pick,
                          coalesce(sum(picked - packed), 0) AS to_pack
                     FROM pick_task WHERE order_id = $1""",
                order_id,
            )
            if open_units["to_pick"] or open_units["to_pack"]:
                raise DomainError(
                    "order_not_packed",
                    f"{open_units['to_pick']} unit(s) still to pick and "
                    f"{open_units['to_pack']} to pack: pack or short them first.",
                    409,
                )
            rows = await conn.fetch(_TO_SHIP, order_id)
            if not rows:
                raise DomainError("nothing_packed", "Nothing of this order is packed.", 409)
            station = await _location(conn, order["pack_station_id"])
            customer = await _customer_location(conn, order)
            for row in rows:
                serials = []
                if row["tracking"] in ("serial", "lot_serial"):
                    serials = [
                        r["serial"]
                        for r in await conn.fetch(
                            _PACKED_SERIALS, row["order_line_id"], row["lot_id"], station["id"]
                        )
                    ]
                await apply_transfer(
                    conn,
                    Transfer(
                        kind="ship",
                        lot_id=row["lot_id"],
                        lot_code=row["lot_code"],
                        sku=row["sku"],
                        quantity=row["quantity"],
                        from_location=station,
                        to_location=customer,
                        serials=serials,
                        reference=f"order {order_id}",
                        actor=actor,
                        order_line_id=row["order_line_id"],
                    ),
                )
            await conn.execute(
                "UPDATE pick_task SET shipped = packed, updated_at = now() WHERE order_id = $1",
                order_id,
            )
            await conn.execute(
                """UPDATE sales_order SET status = 'shipped', shipped_at = now()
                    WHERE id = $1""",
                order_id,
            )
            body = await get_order(conn, order_id)
            await store_key(conn, key, body, 200)
        return body

    async def replay(_: int) -> OrderOut:
        raise AssertionError("a shipment stores its response with its key")

    return await apply_once(conn, data, "ship", actor.user_id, effect, replay, 200)


def _check_shippable(order: asyncpg.Record) -> None:
    if order["status"] == "shipped":
        raise DomainError("order_shipped", "This order has shipped already.", 409)
    if order["status"] == "open":
        raise DomainError("order_not_packed", "This order is not in a wave yet.", 409)
